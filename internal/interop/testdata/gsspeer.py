#!/usr/bin/python3
"""A GSSAPI peer for gosspi's interop tier (internal/interop).

The Go test starts this script with Debian's /usr/bin/python3 and its
python3-gssapi, i.e. MIT krb5's GSSAPI with whatever mechanisms the
GSS_MECH_CONFIG file the test wrote names (gss-ntlmssp for NTLM). It plays
one side of one security context and answers one line per command line:

    command [arg ...]         arguments are base64, "-" for empty
    ok [value ...]            success, values base64 ("-" for empty)
    fail <major> <text>       a GSSAPI failure: major status in hex, text base64

Commands:
    step <token>              init/accept one step -> ok <token> <"1" if complete, else "0">
    wrap <msg>                gss_wrap with confidentiality -> ok <token>
    unwrap <token>            gss_unwrap -> ok <msg>
    mic <msg>                 gss_get_mic -> ok <mic>
    verify <msg> <mic>        gss_verify_mic -> ok
    info                      -> ok <peer name> <mech OID> <session key>
    quit                      exits

The first line the script prints is "ready <python-gssapi version>".
Arguments (argv): role (initiate|accept), mech (ntlm|spnego|kerberos), then
for an initiator the target (a host-based service name such as
HTTP@localhost) and the credential: "default" (the process's default
credentials: the Kerberos ccache and gss-ntlmssp's NTLM_USER_FILE) or
"password:DOMAIN\\user" with the password on the next stdin line, which
gives NTLM credentials only. Either role takes a last, optional argument
"bindings:<ia type>:<ia>:<aa type>:<aa>:<data>" (types decimal, the rest
base64 or "-"): the channel bindings it sends or checks. The kerberos
mechanism (MIT's own krb5) also asks for mutual authentication, and so
does an spnego initiator given the argument "mutual" (before any
bindings), as a domain client's SPNEGO over Kerberos does.
"""

import base64
import sys

import gssapi
import gssapi.raw as graw

NTLM = gssapi.OID.from_int_seq("1.3.6.1.4.1.311.2.2.10")
SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
KRB5 = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2")
# GSS_C_INQ_SSPI_SESSION_KEY: the session key SSPI reports as SESSION_KEY.
SESSION_KEY = gssapi.OID.from_int_seq("1.2.840.113554.1.2.2.5.5")


def enc(b):
    return base64.b64encode(b).decode() if b else "-"


def dec(s):
    return b"" if s == "-" else base64.b64decode(s, validate=True)


def say(*words):
    sys.stdout.write(" ".join(words) + "\n")
    sys.stdout.flush()


def bindings(arg):
    """The channel bindings of a "bindings:..." argument."""
    ia_type, ia, aa_type, aa, data = arg[len("bindings:"):].split(":")
    return graw.ChannelBindings(initiator_address_type=int(ia_type), initiator_address=dec(ia),
                                acceptor_address_type=int(aa_type), acceptor_address=dec(aa),
                                application_data=dec(data))


def gssapi_version():
    try:
        from importlib.metadata import version
        return version("gssapi")
    except Exception:  # the version is only informational
        return "unknown"


def main():
    mutual = "mutual" in sys.argv[3:]
    if mutual:
        sys.argv.remove("mutual")
    role, mech_name = sys.argv[1], sys.argv[2]
    mech = {"ntlm": NTLM, "spnego": SPNEGO, "kerberos": KRB5}[mech_name]
    req = (gssapi.RequirementFlag.integrity | gssapi.RequirementFlag.confidentiality
           | gssapi.RequirementFlag.replay_detection | gssapi.RequirementFlag.out_of_sequence_detection)
    if mech == KRB5 or mutual:
        req |= gssapi.RequirementFlag.mutual_authentication
    cb = None
    if sys.argv[-1].startswith("bindings:"):
        cb = bindings(sys.argv[-1])
    if role == "initiate":
        target = gssapi.Name(sys.argv[3], gssapi.NameType.hostbased_service)
        cred_spec = sys.argv[4]
        creds = None
        if cred_spec.startswith("password:"):
            password = sys.stdin.readline().rstrip("\n").encode()
            user = gssapi.Name(cred_spec[len("password:"):], gssapi.NameType.user)
            # NTLM credentials only: for SPNEGO the SPNEGO credential is
            # acquired with the password and then limited to NTLM, so no
            # other mechanism (Kerberos) joins the offer.
            res = graw.acquire_cred_with_password(user, password, usage="initiate", mechs=[mech])
            creds = gssapi.Credentials(res.creds)
            if mech == SPNEGO:
                graw.set_neg_mechs(creds, [NTLM])
        ctx = gssapi.SecurityContext(name=target, creds=creds, mech=mech, usage="initiate", flags=req,
                                     channel_bindings=cb)
    elif role == "accept":
        ctx = gssapi.SecurityContext(usage="accept", creds=gssapi.Credentials(usage="accept", mechs=[mech]),
                                     channel_bindings=cb)
    else:
        raise SystemExit("unknown role " + role)

    say("ready", gssapi_version())
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "step":
                out = ctx.step(dec(args[0]) if role == "accept" or args[0] != "-" else None)
                say("ok", enc(out or b""), enc(b"1" if ctx.complete else b"0"))
            elif cmd == "wrap":
                say("ok", enc(ctx.wrap(dec(args[0]), True).message))
            elif cmd == "unwrap":
                res = ctx.unwrap(dec(args[0]))
                if not res.encrypted:
                    say("fail", "0", enc(b"message was not encrypted"))
                else:
                    say("ok", enc(res.message))
            elif cmd == "mic":
                say("ok", enc(ctx.get_signature(dec(args[0]))))
            elif cmd == "verify":
                ctx.verify_signature(dec(args[0]), dec(args[1]))
                say("ok")
            elif cmd == "info":
                peer = str(ctx.initiator_name if role == "accept" else ctx.target_name)
                # gss-ntlmssp counts the C string's NUL in the displayed
                # name's length; the name itself ends before it.
                peer = peer.rstrip("\0")
                keys = graw.inquire_sec_context_by_oid(ctx, SESSION_KEY)
                say("ok", enc(peer.encode()), enc(ctx.mech.dotted_form.encode()), enc(keys[0] if keys else b""))
            elif cmd == "quit":
                say("ok")
                return
            else:
                say("fail", "0", enc(("unknown command " + cmd).encode()))
        except gssapi.exceptions.GSSError as e:
            say("fail", "%x" % e.maj_code, enc(str(e).encode()))


if __name__ == "__main__":
    main()
