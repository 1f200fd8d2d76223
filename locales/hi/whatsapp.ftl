# WhatsApp replies to clients. Every message id here must exist in every language.
# Message ids and arguments match locales/en/whatsapp.ftl.

-whatsapp-switch-language = भाषा बदलने के लिए ENGLISH, हिंदी या मराठी भेजें।

whatsapp-welcome =
    नमस्ते! आप हमारे पोर्टल पर मदद माँग सकते हैं:
    { $link }
    लॉगिन: { $login }
    एक-बार का पासवर्ड: { $password } (एक बार, { $expires } तक चलेगा)
    { -whatsapp-switch-language }
    For replies in English, send ENGLISH.
    मराठीत उत्तर हवे असल्यास मराठी पाठवा.
whatsapp-new-password =
    आपका नया एक-बार का पासवर्ड { $password } है ({ $expires } तक, एक बार चलेगा)। पुराना पासवर्ड अब नहीं चलेगा।
    यहाँ लॉगिन करें: { $link }
    लॉगिन: { $login }
    { -whatsapp-switch-language }
whatsapp-link =
    मदद माँगने या अपने अनुरोध देखने के लिए हमारे पोर्टल पर लॉगिन करें:
    { $link }
    लॉगिन: { $login }
    नए पासवर्ड के लिए पासवर्ड भेजें।
    { -whatsapp-switch-language }
whatsapp-language-set =
    अब से हम हिंदी में जवाब देंगे।
    पोर्टल: { $link }
    लॉगिन: { $login }
    नए पासवर्ड के लिए पासवर्ड भेजें।
    { -whatsapp-switch-language }
