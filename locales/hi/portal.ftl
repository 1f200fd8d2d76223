# Client portal pages. Every message id here must exist in every language.

portal-brand = संदेश
portal-skip-link = सीधे सामग्री पर जाएँ
portal-language-label = भाषा
portal-language-change = बदलें
portal-sign-out = साइन आउट
portal-back-home = मेरे अनुरोधों पर वापस

portal-login-title = साइन इन करें
portal-login-intro = वह लॉगिन और पासवर्ड डालें जो हमने आपको व्हाट्सऐप पर भेजा है।
portal-login-login = लॉगिन
portal-login-password = पासवर्ड
portal-login-submit = साइन इन करें
portal-login-help = पासवर्ड नहीं है या काम नहीं कर रहा? हमें व्हाट्सऐप पर "पासवर्ड" भेजें, हम नया पासवर्ड भेज देंगे।
portal-login-expired = आपका सत्र समाप्त हो गया है। फिर से साइन इन करें।
portal-login-signed-out = आप साइन आउट हो गए हैं।
portal-login-wrong = लॉगिन या पासवर्ड गलत है। दोनों जाँचकर फिर से कोशिश करें।
portal-login-password-spent = यह पासवर्ड पहले ही इस्तेमाल हो चुका है या उसकी अवधि खत्म हो गई है। नया लॉगिन और पासवर्ड पाने के लिए हमें व्हाट्सऐप पर "पासवर्ड" भेजें।
portal-login-rate-limited = बहुत बार गलत कोशिश हुई। { $minutes } मिनट रुककर फिर कोशिश करें, या नए पासवर्ड के लिए व्हाट्सऐप पर "पासवर्ड" भेजें।

portal-home-title = हम आपकी क्या मदद करें?
portal-home-intro = मदद माँगने का तरीका चुनें।
portal-choice-form = फ़ॉर्म भरें
portal-choice-form-hint = अपनी ज़रूरत लिखें, एक सहायक उस पर काम करेगा।
portal-choice-chat = सहायक से चैट करें
portal-choice-chat-hint = सहायक को लिखें और यहीं जवाब पाएँ।
portal-requests-heading = मेरे अनुरोध
portal-requests-empty = अभी आपका कोई अनुरोध नहीं है।
portal-request-title = अनुरोध { $id }

portal-status-open = सहायक की प्रतीक्षा में
portal-status-assigned = सहायक काम कर रहे हैं
portal-status-closed = बंद

portal-category-health = स्वास्थ्य
portal-category-documents = दस्तावेज़
portal-category-benefits = लाभ और योजनाएँ
portal-category-appointment = अपॉइंटमेंट
portal-category-other = कुछ और

portal-new-form-title = फ़ॉर्म भरें
portal-new-form-intro = बताइए आपको क्या चाहिए। ज़रूरी चिह्नित खाने भरना आवश्यक है।
portal-new-form-submit = अनुरोध भेजें
portal-new-chat-title = सहायक से चैट करें
portal-new-chat-intro = अपना क्षेत्र और विषय चुनें, चैट तुरंत खुल जाएगी।
portal-new-chat-submit = चैट शुरू करें
portal-errors-title = कृपया चिह्नित खाने ठीक करें
portal-errors-not-sent-title = आपका अनुरोध नहीं भेजा गया

portal-field-name = आपका नाम (ज़रूरी)
portal-field-phone = फ़ोन नंबर (ज़रूरी)
portal-field-phone-hint = 10 अंकों का मोबाइल नंबर, जैसे 98765 43210। भारत के बाहर के नंबर के लिए + और देश का कोड लगाएँ।
portal-field-category = विषय (ज़रूरी)
portal-field-area = क्षेत्र (ज़रूरी)
portal-field-description = आपको क्या चाहिए? (ज़रूरी)
portal-field-description-hint = अधिकतम { $max } अक्षर।
portal-field-choose = चुनें…
portal-field-status = स्थिति
portal-field-created = भेजा गया
portal-detail-name = नाम
portal-detail-phone = फ़ोन नंबर
portal-detail-category = विषय
portal-detail-area = क्षेत्र
portal-detail-description = विवरण

portal-error-area = सूची से अपना क्षेत्र चुनें।
portal-error-category = सूची से एक विषय चुनें।
portal-error-name-missing = अपना नाम लिखें।
portal-error-name-long = नाम बहुत लंबा है: अधिकतम { $max } अक्षर लिखें।
portal-error-phone-missing = अपना फ़ोन नंबर लिखें।
portal-error-phone-invalid = यह सही फ़ोन नंबर नहीं है। 10 अंकों का मोबाइल नंबर लिखें, जैसे 98765 43210, या + और देश का कोड।
portal-error-description-missing = बताइए आपको क्या चाहिए।
portal-error-description-long = विवरण बहुत लंबा है: अधिकतम { $max } अक्षर लिखें।
portal-error-too-many-requests = आपके { $max } अनुरोध पहले से खुले हैं। उनमें से किसी एक की चैट में लिखें, या किसी सहायक के एक अनुरोध बंद करने तक रुकें।

portal-request-waiting = आपका अनुरोध सहायक की प्रतीक्षा में है। आप नीचे चैट में अभी से लिख सकते हैं।
portal-request-assigned = एक सहायक ने आपका अनुरोध लिया है और नीचे चैट में जवाब देंगे।
portal-request-closed = यह अनुरोध बंद है। आप चैट अब भी पढ़ सकते हैं।

portal-chat-heading = चैट
portal-chat-send = भेजें
portal-chat-placeholder = संदेश लिखें
portal-chat-message = संदेश
portal-chat-attach = फ़ाइल जोड़ें
portal-chat-older = पुराने संदेश दिखाएँ
portal-chat-sent = भेजा गया
portal-chat-sending = भेजा जा रहा है…
portal-chat-delivered = पहुँच गया
portal-chat-read = पढ़ लिया
portal-chat-failed = नहीं भेजा गया
portal-chat-me = आप
portal-chat-helper = सहायक
portal-chat-read-only = इस चैट में अब नए संदेश नहीं भेजे जा सकते।
portal-chat-connecting = जुड़ रहा है…
portal-chat-offline = कनेक्शन टूट गया। फिर से जोड़ रहे हैं…
portal-chat-upload-failed = फ़ाइल नहीं भेजी जा सकी। सीमा से छोटी फ़ोटो या PDF चुनकर फिर कोशिश करें।
portal-chat-upload-too-many = आपकी अपलोड की गई कई फ़ाइलें किसी संदेश में नहीं भेजी गईं। कृपया एक दिन बाद फिर कोशिश करें।
portal-chat-empty = अभी कोई संदेश नहीं।
portal-chat-too-long = संदेश भेजने के लिए बहुत लंबा है। उसे छोटा करें या बाँटकर भेजें।
portal-chat-ended = यह चैट आपके लिए बंद हो गई है: फिर से लॉग इन करें या पेज दोबारा खोलें।
portal-chat-rejected = यह संदेश नहीं भेजा जा सका। पेज दोबारा खोलकर फिर कोशिश करें।
portal-chat-error = चैट में कोई गड़बड़ी हुई। अगर कोई संदेश नहीं जाता, तो पेज दोबारा खोलें।
portal-chat-no-script = चैट के लिए JavaScript चाहिए। सहायक को लिखने के लिए ब्राउज़र में इसे चालू करें।

portal-error-forbidden-title = फ़ॉर्म की अवधि समाप्त
portal-error-forbidden = पेज बहुत देर तक या किसी दूसरी विंडो में खुला था। वापस जाएँ, पेज फिर से लोड करें और दोबारा कोशिश करें।
portal-error-not-found-title = नहीं मिला
portal-error-not-found = ऐसा कोई पेज नहीं है, या यह आपका नहीं है।
portal-error-busy-title = व्यस्त
portal-error-busy = सेवा अभी व्यस्त है। थोड़ी देर में फिर कोशिश करें।
portal-error-internal-title = कुछ गड़बड़ हो गई
portal-error-internal = अनुरोध पूरा नहीं हो सका। हमने गड़बड़ी दर्ज कर ली है; बाद में फिर कोशिश करें।
