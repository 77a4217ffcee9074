# DllMain of the bcryptprimitives forwarder: return TRUE, do nothing else.
	.text
	.globl	DllEntry
DllEntry:
	movl	$1, %eax
	ret
