//! Parsing and validation details that the integration tests' examples do not reach.
use super::*;

#[test]
fn a_syntax_error_names_the_key_and_position_but_never_the_line() {
    let text = "node_name = \"a\"\n[radius]\nlisten = [\"127.0.0.1:1812\"]\n[[radius.clients]]\nname = \"vpn\"\naddress = \"10.0.0.1\"\nsecret = \"hunter2-secret-part\nfailmode = 5\n";
    let e = Config::from_toml(text, Path::new("x.toml"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.starts_with("x.toml: line 7, column "), "{e}");
    assert!(e.contains("(key secret)"), "{e}");
    assert!(!e.contains("hunter2"), "the secret leaked: {e}");
    let e = Config::from_toml("node_name = 5\n", Path::new("x.toml"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("line 1") && e.contains("node_name"), "{e}");
}

#[test]
fn prompts_end_for_a_terminal_and_take_choices_before_the_colon() {
    assert_eq!(
        terminal_prompt("enter the code we sent"),
        "enter the code we sent: "
    );
    assert_eq!(terminal_prompt("please enter otp: "), "please enter otp: ");
    assert_eq!(terminal_prompt("Code?"), "Code? ");
    let d = Prompts::default();
    assert!(d.totp.ends_with(": ") && d.push.ends_with(": ") && d.sms.contains("{to}: "));
    assert_eq!(
        prompt_with(&d.totp, "(or type sms)"),
        "Enter the code from your authenticator app (or type sms): "
    );
    assert_eq!(
        prompt_with("Token?", "(or type push)"),
        "Token (or type push)? "
    );
    assert_eq!(
        prompt_with("Token", "(or type push)"),
        "Token (or type push)"
    );
}

#[test]
fn cidr_matching() {
    let n = IpNet::parse("10.1.0.0/16").unwrap();
    assert!(n.contains("10.1.200.3".parse().unwrap()));
    assert!(!n.contains("10.2.0.1".parse().unwrap()));
    assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
    assert!(IpNet::parse("10.1.0.1/16").is_none());
    assert!(IpNet::parse("10.1.0.0/33").is_none());
    let any = IpNet::parse("0.0.0.0/0").unwrap();
    assert!(any.contains("192.0.2.1".parse().unwrap()));
    assert!(!any.contains("::1".parse().unwrap()));
    assert!(IpNet::parse("fd00::/8")
        .unwrap()
        .contains("fd12::1".parse().unwrap()));
    assert_eq!(IpNet::parse("127.0.0.1").unwrap().prefix, 32);
    // IPv4-mapped IPv6 means the IPv4 network, and matches IPv4 packets.
    let mapped = IpNet::parse("::ffff:10.0.0.4").unwrap();
    assert_eq!(mapped, IpNet::parse("10.0.0.4").unwrap());
    assert!(mapped.contains("10.0.0.4".parse().unwrap()));
    assert_eq!(
        IpNet::parse("::ffff:10.0.0.0/104").unwrap(),
        IpNet::parse("10.0.0.0/8").unwrap()
    );
    assert!(
        IpNet::parse("::ffff:10.0.0.0/64").is_none(),
        "wider than IPv4-mapped"
    );
}

#[test]
fn a_users_provider_serves_their_method_or_the_configured_one_does() {
    let cfg = Config::from_toml(
        r#"node_name = "n1"
data_dir = "./data"
[primary]
backend = "local"
[factor]
sms_provider = "gw"
[[factor.provider]]
name = "gw"
kind = "sms_http"
url = "https://sms.example.net/send"
body = '{"to":"{phone}","text":"{code}"}'
[[factor.provider]]
name = "duo"
kind = "duo"
api_host = "api-x.duosecurity.com"
ikey = "DIX"
secret_file = "/dev/null"
"#,
        Path::new("t.toml"),
    )
    .unwrap();
    let f = &cfg.factor;
    let name = |m, own| f.provider_for(m, own).map(|p| p.name().to_owned());
    assert_eq!(name(Method::Sms, None).as_deref(), Some("gw"));
    assert_eq!(name(Method::Sms, Some("duo")).as_deref(), Some("duo"));
    // A provider that does not serve the method (or does not exist) is passed over.
    assert_eq!(name(Method::Sms, Some("nope")).as_deref(), Some("gw"));
    assert_eq!(name(Method::Push, Some("gw")), None);
    assert_eq!(name(Method::Push, Some("duo")).as_deref(), Some("duo"));
    assert_eq!(name(Method::Totp, Some("duo")), None);
    // The gateway needs the phone number; Duo knows its users' phones.
    assert!(f.unservable(Method::Sms, None, None).is_some());
    assert!(f
        .unservable(Method::Sms, None, Some("+15550001001"))
        .is_none());
    assert!(f.unservable(Method::Sms, Some("duo"), None).is_none());
    assert!(f.unservable(Method::Privacyidea, None, None).is_some());
    assert!(f.unservable(Method::Totp, None, None).is_none());
}
