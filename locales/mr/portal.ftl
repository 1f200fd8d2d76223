# Client portal pages. Every message id here must exist in every language.

portal-brand = संदेश
portal-skip-link = थेट मजकुरावर जा
portal-language-label = भाषा
portal-language-change = बदला
portal-sign-out = साइन आउट
portal-back-home = माझ्या विनंत्यांकडे परत

portal-login-title = साइन इन करा
portal-login-intro = आम्ही व्हॉट्सॲपवर पाठवलेले लॉगिन आणि पासवर्ड वापरा.
portal-login-login = लॉगिन
portal-login-password = पासवर्ड
portal-login-submit = साइन इन करा
portal-login-help = पासवर्ड नाही किंवा चालत नाही? आम्हाला व्हॉट्सॲपवर "पासवर्ड" पाठवा, आम्ही नवीन पासवर्ड पाठवू.
portal-login-expired = तुमचे सत्र संपले आहे. पुन्हा साइन इन करा.
portal-login-signed-out = तुम्ही साइन आउट झाला आहात.
portal-login-wrong = लॉगिन किंवा पासवर्ड चुकीचा आहे. दोन्ही तपासून पुन्हा प्रयत्न करा.
portal-login-password-spent = हा पासवर्ड आधीच वापरला गेला आहे किंवा त्याची मुदत संपली आहे. नवीन लॉगिन आणि पासवर्डसाठी आम्हाला व्हॉट्सॲपवर "पासवर्ड" पाठवा.
portal-login-rate-limited = खूप वेळा चुकीचा प्रयत्न झाला. { $minutes } मिनिटे थांबून पुन्हा प्रयत्न करा, किंवा नवीन पासवर्डसाठी व्हॉट्सॲपवर "पासवर्ड" पाठवा.

portal-home-title = आम्ही तुमची काय मदत करू?
portal-home-intro = मदत मागण्याचा मार्ग निवडा.
portal-choice-form = फॉर्म भरा
portal-choice-form-hint = तुमची गरज लिहा, एक मदतनीस त्यावर काम करेल.
portal-choice-chat = मदतनिसाशी चॅट करा
portal-choice-chat-hint = मदतनिसाला लिहा आणि इथेच उत्तर मिळवा.
portal-requests-heading = माझ्या विनंत्या
portal-requests-empty = अजून तुमची कोणतीही विनंती नाही.
portal-request-title = विनंती { $id }

portal-status-open = मदतनिसाची वाट पाहत आहे
portal-status-assigned = मदतनीस काम करत आहेत
portal-status-closed = बंद

portal-category-health = आरोग्य
portal-category-documents = कागदपत्रे
portal-category-benefits = लाभ आणि योजना
portal-category-appointment = भेटीची वेळ
portal-category-other = इतर काही

portal-new-form-title = फॉर्म भरा
portal-new-form-intro = तुम्हाला काय हवे ते सांगा. आवश्यक म्हणून खूण केलेले रकाने भरणे गरजेचे आहे.
portal-new-form-submit = विनंती पाठवा
portal-new-chat-title = मदतनिसाशी चॅट करा
portal-new-chat-intro = तुमचा भाग आणि विषय निवडा, चॅट लगेच उघडेल.
portal-new-chat-submit = चॅट सुरू करा
portal-errors-title = कृपया खूण केलेले रकाने दुरुस्त करा
portal-errors-not-sent-title = तुमची विनंती पाठवली गेली नाही

portal-field-name = तुमचे नाव (आवश्यक)
portal-field-phone = फोन नंबर (आवश्यक)
portal-field-phone-hint = 10 अंकी मोबाइल नंबर, उदा. 98765 43210. भारताबाहेरील नंबरसाठी + आणि देशाचा कोड लिहा.
portal-field-category = विषय (आवश्यक)
portal-field-area = भाग (आवश्यक)
portal-field-description = तुम्हाला काय हवे आहे? (आवश्यक)
portal-field-description-hint = जास्तीत जास्त { $max } अक्षरे.
portal-field-choose = निवडा…
portal-field-status = स्थिती
portal-field-created = पाठवल्याची वेळ
portal-detail-name = नाव
portal-detail-phone = फोन नंबर
portal-detail-category = विषय
portal-detail-area = भाग
portal-detail-description = वर्णन

portal-error-area = यादीतून तुमचा भाग निवडा.
portal-error-category = यादीतून एक विषय निवडा.
portal-error-name-missing = तुमचे नाव लिहा.
portal-error-name-long = नाव खूप मोठे आहे: जास्तीत जास्त { $max } अक्षरे लिहा.
portal-error-phone-missing = तुमचा फोन नंबर लिहा.
portal-error-phone-invalid = हा योग्य फोन नंबर नाही. 10 अंकी मोबाइल नंबर लिहा, उदा. 98765 43210, किंवा + आणि देशाचा कोड.
portal-error-description-missing = तुम्हाला काय हवे ते लिहा.
portal-error-description-long = वर्णन खूप मोठे आहे: जास्तीत जास्त { $max } अक्षरे लिहा.
portal-error-too-many-requests = तुमच्या { $max } विनंत्या आधीच खुल्या आहेत. त्यापैकी एकाच्या चॅटमध्ये लिहा, किंवा मदतनीस एखादी विनंती बंद करेपर्यंत थांबा.

portal-request-waiting = तुमची विनंती मदतनिसाची वाट पाहत आहे. तुम्ही खालील चॅटमध्ये आताच लिहू शकता.
portal-request-assigned = एका मदतनिसाने तुमची विनंती घेतली आहे आणि ते खालील चॅटमध्ये उत्तर देतील.
portal-request-closed = ही विनंती बंद आहे. तुम्ही चॅट अजूनही वाचू शकता.

portal-chat-heading = चॅट
portal-chat-send = पाठवा
portal-chat-placeholder = संदेश लिहा
portal-chat-message = संदेश
portal-chat-attach = फाइल जोडा
portal-chat-older = जुने संदेश दाखवा
portal-chat-sent = पाठवला
portal-chat-sending = पाठवत आहे…
portal-chat-delivered = पोहोचला
portal-chat-read = वाचला
portal-chat-failed = पाठवला नाही
portal-chat-me = तुम्ही
portal-chat-helper = मदतनीस
portal-chat-read-only = या चॅटमध्ये आता नवीन संदेश पाठवता येत नाहीत.
portal-chat-connecting = जोडत आहे…
portal-chat-offline = कनेक्शन तुटले. पुन्हा जोडत आहोत…
portal-chat-upload-failed = फाइल पाठवता आली नाही. मर्यादेपेक्षा लहान फोटो किंवा PDF निवडून पुन्हा प्रयत्न करा.
portal-chat-upload-too-many = तुमच्या अपलोड केलेल्या अनेक फाइल कोणत्याही संदेशात पाठवल्या गेल्या नाहीत. कृपया एका दिवसानंतर पुन्हा प्रयत्न करा.
portal-chat-empty = अजून कोणताही संदेश नाही.
portal-chat-too-long = संदेश पाठवण्यासाठी खूप मोठा आहे. तो लहान करा किंवा विभागून पाठवा.
portal-chat-ended = ही चॅट तुमच्यासाठी बंद झाली आहे: पुन्हा लॉग इन करा किंवा पान पुन्हा उघडा.
portal-chat-rejected = हा संदेश पाठवता आला नाही. पान पुन्हा उघडून पुन्हा प्रयत्न करा.
portal-chat-error = चॅटमध्ये काहीतरी चुकले. एखादा संदेश गेला नाही तर पान पुन्हा उघडा.
portal-chat-no-script = चॅटसाठी JavaScript लागते. मदतनिसाला लिहिण्यासाठी ब्राउझरमध्ये ते चालू करा.

portal-error-forbidden-title = फॉर्मची मुदत संपली
portal-error-forbidden = पान खूप वेळ किंवा दुसऱ्या विंडोमध्ये उघडे होते. मागे जा, पान पुन्हा लोड करा आणि पुन्हा प्रयत्न करा.
portal-error-not-found-title = सापडले नाही
portal-error-not-found = असे कोणतेही पान नाही, किंवा ते तुमचे नाही.
portal-error-busy-title = व्यस्त
portal-error-busy = सेवा सध्या व्यस्त आहे. थोड्या वेळाने पुन्हा प्रयत्न करा.
portal-error-internal-title = काहीतरी चुकले
portal-error-internal = विनंती पूर्ण झाली नाही. आम्ही त्रुटी नोंदवली आहे; नंतर पुन्हा प्रयत्न करा.
