# SMS texts in Marathi. Message ids and arguments match locales/en/sms.ftl.

-usage = पाठवा: <एजंट-आयडी> <केस-कोड> <नाव> <फोन>
-reply-usage = पाठवा: -1 SC किंवा RS <फोन> <नाव> <ट्रॅकिंग-आयडी>

field-name = { $field ->
    [agent_id] एजंट आयडी
    [case_code] केस कोड
    [beneficiary_name] नाव
    [beneficiary_phone] फोन
    [facility_code] केंद्र कोड
    [outcome] SC किंवा RS
    [tracking_id] ट्रॅकिंग आयडी
   *[message] संदेश
}

patient-appointment = { $name }, { $date } रोजी { $time } वाजता { $case } साठी { $facility }, { $address } येथे भेट द्या
agent-booked = बुक झाले: { $name } ({ $case }) { $facility } येथे { $date } { $time } वाजता.
agent-already-booked = { $name } यांचे { $case } आधीच { $facility } येथे { $date } { $time } वाजता बुक आहे. काहीही बदलले नाही.
agent-unknown-agent = एजंट आयडी { $agent_id } नोंदणीकृत नाही. आपला आयडी तपासा. { -usage }
agent-unknown-sender = हा फोन कोणत्याही एजंटसाठी नोंदणीकृत नाही. आपल्या नोंदणीकृत फोनवरून पाठवा किंवा आपल्या अधिकाऱ्याला फोन करा.
agent-inactive-agent = एजंट आयडी { $agent_id } सक्रिय नाही. कृपया आपल्या अधिकाऱ्याला फोन करा.
agent-sender-mismatch = हा फोन एजंट आयडी { $agent_id } साठी नोंदणीकृत नाही. आपल्या नोंदणीकृत फोनवरून पाठवा.
agent-empty-message = आपला SMS रिकामा होता. { -usage }
agent-message-too-long = आपला SMS खूप मोठा आहे ({ $chars } अक्षरे). { -usage }
agent-control-character = आपल्या SMS मध्ये न वाचता येणारे अक्षर आहे. पुन्हा लिहा. { -usage }
agent-missing-field = { field-name } नाही. { -usage }
agent-invalid-field = { field-name } "{ $value }" चुकीचे आहे. { -usage }
agent-invalid-phone = फोन "{ $value }" चुकीचा आहे: 6-9 ने सुरू होणारे 10 अंक लिहा. { -usage }
agent-trailing-text = शेवटी जास्तीचा मजकूर "{ $value }". { -usage }
agent-missing-reply-field = { field-name } नाही. { -reply-usage }
agent-invalid-reply-field = { field-name } "{ $value }" चुकीचे आहे. { -reply-usage }
agent-unknown-case-type = केस कोड { $code } ओळखीचा नाही. आपल्याला { $suggestion } म्हणायचे होते का? योग्य कोडसह पुन्हा पाठवा.
agent-unknown-facility = केंद्र कोड { $code } ओळखीचा नाही. { $codes } पैकी एक लिहा किंवा वगळा.
agent-facility-not-assigned = आपण केंद्र { $code } येथे काम करत नाही. { $codes } पैकी एक लिहा किंवा वगळा.
agent-no-facility = आपल्याला कोणतेही आरोग्य केंद्र दिलेले नाही. अधिकारी हे दुरुस्त करून { $name } यांची बुकिंग करतील.
agent-no-free-slot = आपल्या केंद्रांवर { $case } साठी मोकळी वेळ नाही. अधिकारी { $name } यांची बुकिंग करून आपल्याला कळवतील.
agent-unknown-tracking-id = ट्रॅकिंग आयडी { $tracking_id } ओळखीचा नाही. फॉलो-अप SMS मधील आयडी तपासा.
agent-tracking-id-typo = ट्रॅकिंग आयडी { $tracking_id } मध्ये टायपिंगची चूक आहे. अंक तपासून पुन्हा पाठवा.
agent-follow-up-mismatch = फोन किंवा ट्रॅकिंग आयडी अपॉइंटमेंटशी जुळत नाही. फॉलो-अप SMS पाहून पुन्हा पाठवा.
agent-not-processed = आपला SMS वाचता आला नाही. एक अधिकारी तो तपासतील.

agent-follow-up = फॉलो-अप { $tracking_id }: { $name } { $date } { $time } ला { $facility } येथे गेले का ({ $case })? हो: -1 SC { $phone } { $name } { $tracking_id } नाही: -1 RS { $phone } { $name } { $tracking_id }
patient-reminder = आठवण: { $name }, उद्या { $date } रोजी { $time } वाजता { $case } साठी { $facility }, { $address } येथे भेट द्या
patient-appointment-changed = बदल: { $name }, { $date } रोजी { $time } वाजता { $case } साठी { $facility }, { $address } येथे भेट द्या
patient-appointment-cancelled = { $name }: { $facility } येथील { $date } { $time } वाजताची { $case } भेट रद्द झाली आहे. आपल्या आरोग्य सेविका आपल्याला नवीन तारीख कळवतील.
agent-completed = नोंद झाली: { $name } { $case } साठी गेले. धन्यवाद.
agent-rescheduled = पुन्हा बुक झाले: { $name } ({ $case }) { $facility } येथे { $date } { $time } वाजता.
agent-reply-repeated = { $name } ({ $tracking_id }) साठी आधीच नोंद आहे. काहीही बदलले नाही.
agent-reply-not-applied = { $name } यांची अपॉइंटमेंट { $status ->
    [completed] आधीच पूर्ण झाली आहे
    [cancelled] रद्द झाली आहे
   *[other] बंद झाली आहे
}. आपल्या उत्तराने काहीही बदलले नाही.
agent-escalated = { $name } यांची वेळ खूप वेळा बदलली. एक अधिकारी आपल्याला फोन करतील.
