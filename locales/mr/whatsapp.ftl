# WhatsApp replies to clients. Every message id here must exist in every language.
# Message ids and arguments match locales/en/whatsapp.ftl.

-whatsapp-switch-language = भाषा बदलण्यासाठी ENGLISH, हिंदी किंवा मराठी पाठवा.

whatsapp-welcome =
    नमस्कार! तुम्ही आमच्या पोर्टलवर मदत मागू शकता:
    { $link }
    लॉगिन: { $login }
    एकदाच वापरायचा पासवर्ड: { $password } (एकदाच, { $expires } पर्यंत चालेल)
    { -whatsapp-switch-language }
    For replies in English, send ENGLISH.
    हिंदी में जवाब के लिए हिंदी भेजें।
whatsapp-new-password =
    तुमचा नवीन एकदाच वापरायचा पासवर्ड { $password } आहे ({ $expires } पर्यंत, एकदाच चालेल). जुना पासवर्ड आता चालणार नाही.
    येथे लॉगिन करा: { $link }
    लॉगिन: { $login }
    { -whatsapp-switch-language }
whatsapp-link =
    मदत मागण्यासाठी किंवा तुमच्या विनंत्या पाहण्यासाठी आमच्या पोर्टलवर लॉगिन करा:
    { $link }
    लॉगिन: { $login }
    नवीन पासवर्डसाठी पासवर्ड पाठवा.
    { -whatsapp-switch-language }
whatsapp-language-set =
    आतापासून आम्ही मराठीत उत्तर देऊ.
    पोर्टल: { $link }
    लॉगिन: { $login }
    नवीन पासवर्डसाठी पासवर्ड पाठवा.
    { -whatsapp-switch-language }
