//! The portal's words in English, Swedish and Dutch, and which of them a browser gets: the
//! language chosen on the page (a cookie), else the signed-in user's own language (the one
//! their mails are in, set as a session cookie at sign-in), else the first of
//! `Accept-Language` we have, else English.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Sv,
    Nl,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Sv, Lang::Nl];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sv => "sv",
            Lang::Nl => "nl",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "sv" => Some(Lang::Sv),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }

    /// The best of ours for an `Accept-Language` header (RFC 9110 §12.5.4: by q-value, then
    /// order; `q=0` means not wanted).
    pub fn negotiate(header: Option<&str>) -> Lang {
        let Some(h) = header else { return Lang::En };
        let mut best: Option<(u32, usize, Lang)> = None;
        for (i, item) in h.split(',').take(32).enumerate() {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let q = (q.clamp(0.0, 1.0) * 1000.0) as u32;
            if q == 0 {
                continue;
            }
            if best
                .is_none_or(|(bq, bi, _)| (q, std::cmp::Reverse(i)) > (bq, std::cmp::Reverse(bi)))
            {
                best = Some((q, i, lang));
            }
        }
        best.map(|b| b.2).unwrap_or(Lang::En)
    }

    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Sv => "Svenska",
            Lang::Nl => "Nederlands",
        }
    }

    pub fn t(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::Sv => &SV,
            Lang::Nl => &NL,
        }
    }
}

pub struct Strings {
    pub title: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub invitation_intro: &'static str,
    pub user_name: &'static str,
    pub password: &'static str,
    pub sign_in_failed: &'static str,
    pub too_many: &'static str,
    pub code: &'static str,
    pub code_intro: &'static str,
    pub push_intro: &'static str,
    pub continue_: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub signed_out: &'static str,
    pub expired: &'static str,
    pub your_factors: &'static str,
    pub app_enrolled: &'static str,
    pub app_none: &'static str,
    pub phone_set: &'static str,
    pub phone_none: &'static str,
    pub enrol_app: &'static str,
    pub change_app: &'static str,
    pub set_phone: &'static str,
    pub change_phone: &'static str,
    pub app_title: &'static str,
    pub app_step1: &'static str,
    pub app_secret: &'static str,
    pub app_step2: &'static str,
    pub app_saved: &'static str,
    pub app_wrong: &'static str,
    pub app_gave_up: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub phone_title: &'static str,
    pub phone_intro: &'static str,
    pub phone_number: &'static str,
    pub phone_bad: &'static str,
    pub phone_send: &'static str,
    pub phone_sent: &'static str,
    pub phone_not_sent: &'static str,
    pub phone_saved: &'static str,
    pub phone_wrong: &'static str,
    pub recent: &'static str,
    pub recent_intro: &'static str,
    pub recent_none: &'static str,
    pub when: &'static str,
    pub from: &'static str,
    pub result: &'static str,
    pub accepted: &'static str,
    pub refused: &'static str,
    pub asked: &'static str,
    pub not_me: &'static str,
    pub reported: &'static str,
    pub call_helpdesk: &'static str,
    pub locked_note: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub too_large: &'static str,
    pub unavailable: &'static str,
    pub back: &'static str,
    pub language: &'static str,
}

const EN: Strings = Strings {
    title: "Multi-factor sign-in",
    sign_in: "Sign in",
    sign_in_intro: "Sign in with your usual user name and password to enrol or change how you confirm your sign-ins.",
    invitation_intro: "Welcome. Sign in with your usual user name and password to complete your enrolment. This link works once.",
    user_name: "User name",
    password: "Password",
    sign_in_failed: "Sign-in failed. Check your user name and password, or ask for a new invitation.",
    too_many: "Too many attempts. Wait a minute and try again.",
    code: "Code",
    code_intro: "Enter the code from your authenticator app or the text message you just received.",
    push_intro: "Approve the request on your phone, then press Continue.",
    continue_: "Continue",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    signed_out: "You have signed out.",
    expired: "Your session has ended. Sign in again.",
    your_factors: "How you confirm your sign-ins",
    app_enrolled: "Authenticator app: set up",
    app_none: "Authenticator app: not set up",
    phone_set: "Phone for text messages:",
    phone_none: "Phone for text messages: none",
    enrol_app: "Set up an authenticator app",
    change_app: "Replace the authenticator app",
    set_phone: "Set a phone number",
    change_phone: "Change the phone number",
    app_title: "Set up an authenticator app",
    app_step1: "1. In your authenticator app (Microsoft Authenticator, Google Authenticator, FreeOTP and others), add an account and scan this code.",
    app_secret: "Cannot scan? Enter this key by hand:",
    app_step2: "2. Enter the 6-digit code the app now shows. The app is saved only when the code is right.",
    app_saved: "Your authenticator app is set up. Use its codes when you sign in.",
    app_wrong: "That code is not right. Check the time on your phone and try the newest code.",
    app_gave_up: "Too many wrong codes: nothing was saved. Start again.",
    save: "Save",
    cancel: "Cancel",
    phone_title: "Phone for text messages",
    phone_intro: "Enter your mobile number in international form (for example +46701234567). We send a code to it, and the number is saved once you type that code here.",
    phone_number: "Mobile number",
    phone_bad: "That is not a phone number in international form (+ and 8 to 15 digits).",
    phone_send: "Send the code",
    phone_sent: "We sent a code to",
    phone_not_sent: "The code could not be sent. Try again later.",
    phone_saved: "Your phone number is saved.",
    phone_wrong: "That code is not right: the number was not saved.",
    recent: "My recent sign-ins",
    recent_intro: "If a sign-in here was not you, press \u{201c}This wasn't me\u{201d}: your second factor is then blocked until the helpdesk unblocks it.",
    recent_none: "No sign-ins in the last two weeks.",
    when: "When",
    from: "From",
    result: "Result",
    accepted: "Signed in",
    refused: "Refused",
    asked: "Code asked",
    not_me: "This wasn't me",
    reported: "Thank you. Your second factor is blocked, so nobody can sign in as you with it.",
    call_helpdesk: "Call the helpdesk now to change your password and unblock your account:",
    locked_note: "Your second factor is blocked. Call the helpdesk.",
    forbidden: "This form has expired. Go back, reload the page and try again.",
    not_found: "There is no such page.",
    too_large: "That was too much to send.",
    unavailable: "The service is not available right now. Try again in a few minutes.",
    back: "Back",
    language: "Language",
};

const SV: Strings = Strings {
    title: "Inloggning med flerstegsverifiering",
    sign_in: "Logga in",
    sign_in_intro: "Logga in med ditt vanliga användarnamn och lösenord för att registrera eller ändra hur du bekräftar dina inloggningar.",
    invitation_intro: "Välkommen. Logga in med ditt vanliga användarnamn och lösenord för att slutföra registreringen. Länken fungerar en gång.",
    user_name: "Användarnamn",
    password: "Lösenord",
    sign_in_failed: "Inloggningen misslyckades. Kontrollera användarnamn och lösenord, eller be om en ny inbjudan.",
    too_many: "För många försök. Vänta en minut och försök igen.",
    code: "Kod",
    code_intro: "Ange koden från din autentiseringsapp eller från sms:et du just fick.",
    push_intro: "Godkänn begäran i din telefon och tryck sedan på Fortsätt.",
    continue_: "Fortsätt",
    signed_in_as: "Inloggad som",
    sign_out: "Logga ut",
    signed_out: "Du har loggat ut.",
    expired: "Din session har avslutats. Logga in igen.",
    your_factors: "Så bekräftar du dina inloggningar",
    app_enrolled: "Autentiseringsapp: konfigurerad",
    app_none: "Autentiseringsapp: inte konfigurerad",
    phone_set: "Telefon för sms:",
    phone_none: "Telefon för sms: ingen",
    enrol_app: "Konfigurera en autentiseringsapp",
    change_app: "Byt autentiseringsapp",
    set_phone: "Ange ett telefonnummer",
    change_phone: "Ändra telefonnumret",
    app_title: "Konfigurera en autentiseringsapp",
    app_step1: "1. Lägg till ett konto i din autentiseringsapp (Microsoft Authenticator, Google Authenticator, FreeOTP med flera) och skanna den här koden.",
    app_secret: "Går det inte att skanna? Skriv in den här nyckeln för hand:",
    app_step2: "2. Ange den sexsiffriga kod som appen nu visar. Appen sparas först när koden stämmer.",
    app_saved: "Din autentiseringsapp är konfigurerad. Använd dess koder när du loggar in.",
    app_wrong: "Koden stämmer inte. Kontrollera tiden i telefonen och prova den senaste koden.",
    app_gave_up: "För många felaktiga koder: inget sparades. Börja om.",
    save: "Spara",
    cancel: "Avbryt",
    phone_title: "Telefon för sms",
    phone_intro: "Ange ditt mobilnummer i internationellt format (till exempel +46701234567). Vi skickar en kod dit, och numret sparas när du har skrivit in koden här.",
    phone_number: "Mobilnummer",
    phone_bad: "Det är inte ett telefonnummer i internationellt format (+ och 8 till 15 siffror).",
    phone_send: "Skicka koden",
    phone_sent: "Vi skickade en kod till",
    phone_not_sent: "Koden kunde inte skickas. Försök igen senare.",
    phone_saved: "Ditt telefonnummer är sparat.",
    phone_wrong: "Koden stämmer inte: numret sparades inte.",
    recent: "Mina senaste inloggningar",
    recent_intro: "Om en inloggning här inte var du, tryck på \u{201d}Det var inte jag\u{201d}: då spärras ditt andra steg tills supporten häver spärren.",
    recent_none: "Inga inloggningar de senaste två veckorna.",
    when: "När",
    from: "Från",
    result: "Resultat",
    accepted: "Inloggad",
    refused: "Nekad",
    asked: "Kod begärd",
    not_me: "Det var inte jag",
    reported: "Tack. Ditt andra steg är spärrat, så ingen kan logga in som du med det.",
    call_helpdesk: "Ring supporten nu för att byta lösenord och häva spärren:",
    locked_note: "Ditt andra steg är spärrat. Ring supporten.",
    forbidden: "Formuläret har gått ut. Gå tillbaka, ladda om sidan och försök igen.",
    not_found: "Sidan finns inte.",
    too_large: "Det var för mycket att skicka.",
    unavailable: "Tjänsten är inte tillgänglig just nu. Försök igen om några minuter.",
    back: "Tillbaka",
    language: "Språk",
};

const NL: Strings = Strings {
    title: "Aanmelden met meervoudige verificatie",
    sign_in: "Aanmelden",
    sign_in_intro: "Meld u aan met uw gebruikelijke gebruikersnaam en wachtwoord om in te stellen of te wijzigen hoe u uw aanmeldingen bevestigt.",
    invitation_intro: "Welkom. Meld u aan met uw gebruikelijke gebruikersnaam en wachtwoord om uw registratie te voltooien. Deze link werkt één keer.",
    user_name: "Gebruikersnaam",
    password: "Wachtwoord",
    sign_in_failed: "Aanmelden is mislukt. Controleer uw gebruikersnaam en wachtwoord, of vraag een nieuwe uitnodiging aan.",
    too_many: "Te veel pogingen. Wacht een minuut en probeer het opnieuw.",
    code: "Code",
    code_intro: "Voer de code in uit uw authenticator-app of uit het sms-bericht dat u zojuist hebt ontvangen.",
    push_intro: "Keur het verzoek goed op uw telefoon en klik daarna op Doorgaan.",
    continue_: "Doorgaan",
    signed_in_as: "Aangemeld als",
    sign_out: "Afmelden",
    signed_out: "U bent afgemeld.",
    expired: "Uw sessie is beëindigd. Meld u opnieuw aan.",
    your_factors: "Zo bevestigt u uw aanmeldingen",
    app_enrolled: "Authenticator-app: ingesteld",
    app_none: "Authenticator-app: niet ingesteld",
    phone_set: "Telefoon voor sms:",
    phone_none: "Telefoon voor sms: geen",
    enrol_app: "Een authenticator-app instellen",
    change_app: "De authenticator-app vervangen",
    set_phone: "Een telefoonnummer instellen",
    change_phone: "Het telefoonnummer wijzigen",
    app_title: "Een authenticator-app instellen",
    app_step1: "1. Voeg in uw authenticator-app (Microsoft Authenticator, Google Authenticator, FreeOTP en andere) een account toe en scan deze code.",
    app_secret: "Lukt scannen niet? Voer deze sleutel met de hand in:",
    app_step2: "2. Voer de zescijferige code in die de app nu toont. De app wordt pas opgeslagen als de code klopt.",
    app_saved: "Uw authenticator-app is ingesteld. Gebruik de codes ervan wanneer u zich aanmeldt.",
    app_wrong: "Die code klopt niet. Controleer de tijd op uw telefoon en probeer de nieuwste code.",
    app_gave_up: "Te veel onjuiste codes: er is niets opgeslagen. Begin opnieuw.",
    save: "Opslaan",
    cancel: "Annuleren",
    phone_title: "Telefoon voor sms",
    phone_intro: "Voer uw mobiele nummer in internationale notatie in (bijvoorbeeld +31612345678). We sturen er een code naartoe; het nummer wordt opgeslagen zodra u die code hier invoert.",
    phone_number: "Mobiel nummer",
    phone_bad: "Dat is geen telefoonnummer in internationale notatie (+ en 8 tot 15 cijfers).",
    phone_send: "Code versturen",
    phone_sent: "We hebben een code gestuurd naar",
    phone_not_sent: "De code kon niet worden verstuurd. Probeer het later opnieuw.",
    phone_saved: "Uw telefoonnummer is opgeslagen.",
    phone_wrong: "Die code klopt niet: het nummer is niet opgeslagen.",
    recent: "Mijn recente aanmeldingen",
    recent_intro: "Was een aanmelding hier niet van u? Klik dan op \u{201c}Dit was ik niet\u{201d}: uw tweede factor wordt dan geblokkeerd tot de helpdesk de blokkering opheft.",
    recent_none: "Geen aanmeldingen in de afgelopen twee weken.",
    when: "Wanneer",
    from: "Vanaf",
    result: "Resultaat",
    accepted: "Aangemeld",
    refused: "Geweigerd",
    asked: "Code gevraagd",
    not_me: "Dit was ik niet",
    reported: "Dank u. Uw tweede factor is geblokkeerd, zodat niemand zich daarmee als u kan aanmelden.",
    call_helpdesk: "Bel nu de helpdesk om uw wachtwoord te wijzigen en de blokkering op te heffen:",
    locked_note: "Uw tweede factor is geblokkeerd. Bel de helpdesk.",
    forbidden: "Dit formulier is verlopen. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
    not_found: "Deze pagina bestaat niet.",
    too_large: "Dat was te veel om te versturen.",
    unavailable: "De dienst is nu niet beschikbaar. Probeer het over een paar minuten opnieuw.",
    back: "Terug",
    language: "Taal",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_by_quality_then_order() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("sv")), Lang::Sv);
        assert_eq!(Lang::negotiate(Some("sv-SE,sv;q=0.9,en;q=0.8")), Lang::Sv);
        assert_eq!(Lang::negotiate(Some("de-DE,nl;q=0.5,en;q=0.4")), Lang::Nl);
        assert_eq!(Lang::negotiate(Some("en;q=0.3,nl-BE;q=0.7")), Lang::Nl);
        assert_eq!(Lang::negotiate(Some("sv;q=0,fr")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr, de")), Lang::En);
        assert_eq!(Lang::negotiate(Some(";;,q=,\u{0}")), Lang::En);
    }
}
