# WhatsApp replies to clients. Every message id here must exist in every language.
# Arguments: $link is the portal sign-in address, $login the client's login,
# $password a one-time password, $expires when it stops working (dd-mm-yyyy HH:MM).
# The welcome goes to people whose language is still a guess (a bare "hi" is
# English), so in every language it ends with how to switch to each of the
# other two, written in that language's script.

-whatsapp-switch-language = To change the language, send ENGLISH, HINDI or MARATHI.

whatsapp-welcome =
    Namaste! You can ask us for help on our portal:
    { $link }
    Login: { $login }
    One-time password: { $password } (works once, until { $expires })
    { -whatsapp-switch-language }
    हिंदी में जवाब के लिए हिंदी भेजें।
    मराठीत उत्तर हवे असल्यास मराठी पाठवा.
whatsapp-new-password =
    Your new one-time password is { $password } (works once, until { $expires }). The old password no longer works.
    Sign in at { $link }
    Login: { $login }
    { -whatsapp-switch-language }
whatsapp-link =
    Sign in to our portal to ask for help or see your requests:
    { $link }
    Login: { $login }
    For a new password, send PASSWORD.
    { -whatsapp-switch-language }
whatsapp-language-set =
    We will reply in English from now on.
    Portal: { $link }
    Login: { $login }
    For a new password, send PASSWORD.
    { -whatsapp-switch-language }
