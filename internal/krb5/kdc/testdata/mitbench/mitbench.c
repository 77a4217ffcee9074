/*
 * mitbench times MIT krb5's GSSAPI on the rows gosspi's Kerberos
 * benchmarks measure, so the two can be compared in one run:
 *
 *   mitbench handshake TARGET N   AP exchange with mutual authentication,
 *                                 both sides, from a cached service ticket
 *   mitbench mic TARGET N         gss_get_mic + gss_verify_mic of 1 KiB
 *   mitbench wrap TARGET N        gss_wrap (confidential) + gss_unwrap of 64 KiB
 *
 * TARGET is a host-based service name (HTTP@web01.mit.test). The
 * initiator uses the default ccache, the acceptor the default keytab.
 * It prints the nanoseconds per operation, after a warm-up.
 */
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static gss_OID_desc krb5_oid = {9, "\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

static void fail(const char *what, OM_uint32 major, OM_uint32 minor)
{
	OM_uint32 lmin, ctx = 0;
	gss_buffer_desc text;
	fprintf(stderr, "mitbench: %s failed:", what);
	do {
		gss_display_status(&lmin, major, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &text);
		fprintf(stderr, " %.*s", (int)text.length, (char *)text.value);
		gss_release_buffer(&lmin, &text);
	} while (ctx != 0);
	do {
		gss_display_status(&lmin, minor, GSS_C_MECH_CODE, &krb5_oid, &ctx, &text);
		fprintf(stderr, "; %.*s", (int)text.length, (char *)text.value);
		gss_release_buffer(&lmin, &text);
	} while (ctx != 0);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static gss_name_t target;
static gss_cred_id_t icred, acred;

/* handshake establishes a context pair; the caller deletes it. */
static void handshake(gss_ctx_id_t *ic, gss_ctx_id_t *ac)
{
	OM_uint32 major, minor, flags = GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG |
		GSS_C_CONF_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG;
	gss_buffer_desc t1 = GSS_C_EMPTY_BUFFER, t2 = GSS_C_EMPTY_BUFFER, t3 = GSS_C_EMPTY_BUFFER;
	*ic = GSS_C_NO_CONTEXT;
	*ac = GSS_C_NO_CONTEXT;
	major = gss_init_sec_context(&minor, icred, ic, target, &krb5_oid, flags, 0,
		GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &t1, NULL, NULL);
	if (major != GSS_S_CONTINUE_NEEDED)
		fail("gss_init_sec_context", major, minor);
	major = gss_accept_sec_context(&minor, ac, acred, &t1, GSS_C_NO_CHANNEL_BINDINGS,
		NULL, NULL, &t2, NULL, NULL, NULL);
	if (major != GSS_S_COMPLETE)
		fail("gss_accept_sec_context", major, minor);
	major = gss_init_sec_context(&minor, icred, ic, target, &krb5_oid, flags, 0,
		GSS_C_NO_CHANNEL_BINDINGS, &t2, NULL, &t3, NULL, NULL);
	if (major != GSS_S_COMPLETE)
		fail("gss_init_sec_context (AP-REP)", major, minor);
	gss_release_buffer(&minor, &t1);
	gss_release_buffer(&minor, &t2);
	gss_release_buffer(&minor, &t3);
}

static void drop(gss_ctx_id_t *ic, gss_ctx_id_t *ac)
{
	OM_uint32 minor;
	gss_delete_sec_context(&minor, ic, GSS_C_NO_BUFFER);
	gss_delete_sec_context(&minor, ac, GSS_C_NO_BUFFER);
}

static void mic(gss_ctx_id_t ic, gss_ctx_id_t ac, gss_buffer_t msg)
{
	OM_uint32 major, minor;
	gss_buffer_desc tok;
	major = gss_get_mic(&minor, ic, GSS_C_QOP_DEFAULT, msg, &tok);
	if (major != GSS_S_COMPLETE)
		fail("gss_get_mic", major, minor);
	major = gss_verify_mic(&minor, ac, msg, &tok, NULL);
	if (major != GSS_S_COMPLETE)
		fail("gss_verify_mic", major, minor);
	gss_release_buffer(&minor, &tok);
}

static void wrap(gss_ctx_id_t ic, gss_ctx_id_t ac, gss_buffer_t msg)
{
	OM_uint32 major, minor;
	gss_buffer_desc tok, out;
	int conf = 0;
	major = gss_wrap(&minor, ic, 1, GSS_C_QOP_DEFAULT, msg, &conf, &tok);
	if (major != GSS_S_COMPLETE || !conf)
		fail("gss_wrap", major, minor);
	major = gss_unwrap(&minor, ac, &tok, &out, &conf, NULL);
	if (major != GSS_S_COMPLETE || out.length != msg->length)
		fail("gss_unwrap", major, minor);
	gss_release_buffer(&minor, &tok);
	gss_release_buffer(&minor, &out);
}

int main(int argc, char **argv)
{
	OM_uint32 major, minor;
	gss_buffer_desc name;
	gss_OID_set_desc mechs = {1, &krb5_oid};
	gss_ctx_id_t ic, ac;
	gss_buffer_desc msg;
	long n, i, warm = 20;
	double start;
	const char *mode;

	if (argc != 4 || (n = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: mitbench handshake|mic|wrap TARGET N\n");
		return 2;
	}
	mode = argv[1];
	name.value = argv[2];
	name.length = strlen(argv[2]);
	major = gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &target);
	if (major != GSS_S_COMPLETE)
		fail("gss_import_name", major, minor);
	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
		GSS_C_INITIATE, &icred, NULL, NULL);
	if (major != GSS_S_COMPLETE)
		fail("gss_acquire_cred (initiate)", major, minor);
	major = gss_acquire_cred(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs,
		GSS_C_ACCEPT, &acred, NULL, NULL);
	if (major != GSS_S_COMPLETE)
		fail("gss_acquire_cred (accept)", major, minor);

	if (strcmp(mode, "handshake") == 0) {
		for (i = 0; i < warm; i++) {
			handshake(&ic, &ac);
			drop(&ic, &ac);
		}
		start = now_ns();
		for (i = 0; i < n; i++) {
			handshake(&ic, &ac);
			drop(&ic, &ac);
		}
		printf("%.1f\n", (now_ns() - start) / (double)n);
		return 0;
	}
	if (strcmp(mode, "mic") == 0)
		msg.length = 1024;
	else if (strcmp(mode, "wrap") == 0)
		msg.length = 64 * 1024;
	else {
		fprintf(stderr, "mitbench: unknown mode %s\n", mode);
		return 2;
	}
	msg.value = calloc(1, msg.length);
	handshake(&ic, &ac);
	for (i = 0; i < warm; i++)
		(mode[0] == 'm' ? mic : wrap)(ic, ac, &msg);
	start = now_ns();
	for (i = 0; i < n; i++)
		(mode[0] == 'm' ? mic : wrap)(ic, ac, &msg);
	printf("%.1f\n", (now_ns() - start) / (double)n);
	drop(&ic, &ac);
	return 0;
}
