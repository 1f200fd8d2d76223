# SMS texts in Hindi. Message ids and arguments match locales/en/sms.ftl.

-usage = भेजें: <एजेंट-आईडी> <केस-कोड> <नाम> <फ़ोन>
-reply-usage = भेजें: -1 SC या RS <फ़ोन> <नाम> <ट्रैकिंग-आईडी>

field-name = { $field ->
    [agent_id] एजेंट आईडी
    [case_code] केस कोड
    [beneficiary_name] नाम
    [beneficiary_phone] फ़ोन
    [facility_code] केंद्र कोड
    [outcome] SC या RS
    [tracking_id] ट्रैकिंग आईडी
   *[message] संदेश
}

patient-appointment = { $name }, { $date } को { $time } बजे { $case } के लिए { $facility }, { $address } पर जाएँ
agent-booked = बुक हुआ: { $name } ({ $case }) { $facility } में { $date } { $time } बजे।
agent-already-booked = { $name } का { $case } पहले से { $facility } में { $date } { $time } बजे बुक है। कुछ नहीं बदला।
agent-unknown-agent = एजेंट आईडी { $agent_id } पंजीकृत नहीं है। अपनी आईडी जाँचें। { -usage }
agent-unknown-sender = यह फ़ोन किसी एजेंट के लिए पंजीकृत नहीं है। अपने पंजीकृत फ़ोन से भेजें या अपने अधिकारी को फ़ोन करें।
agent-inactive-agent = एजेंट आईडी { $agent_id } सक्रिय नहीं है। कृपया अपने अधिकारी को फ़ोन करें।
agent-sender-mismatch = यह फ़ोन एजेंट आईडी { $agent_id } के लिए पंजीकृत नहीं है। अपने पंजीकृत फ़ोन से भेजें।
agent-empty-message = आपका SMS खाली था। { -usage }
agent-message-too-long = आपका SMS बहुत लंबा है ({ $chars } अक्षर)। { -usage }
agent-control-character = आपके SMS में एक अपठनीय अक्षर है। फिर से लिखें। { -usage }
agent-missing-field = { field-name } नहीं है। { -usage }
agent-invalid-field = { field-name } "{ $value }" गलत है। { -usage }
agent-invalid-phone = फ़ोन "{ $value }" गलत है: 6-9 से शुरू होने वाले 10 अंक लिखें। { -usage }
agent-trailing-text = अंत में अतिरिक्त शब्द "{ $value }"। { -usage }
agent-missing-reply-field = { field-name } नहीं है। { -reply-usage }
agent-invalid-reply-field = { field-name } "{ $value }" गलत है। { -reply-usage }
agent-unknown-case-type = केस कोड { $code } मान्य नहीं है। क्या आपका मतलब { $suggestion } था? सही कोड के साथ फिर भेजें।
agent-unknown-facility = केंद्र कोड { $code } मान्य नहीं है। { $codes } में से एक लिखें या छोड़ दें।
agent-facility-not-assigned = आप केंद्र { $code } में काम नहीं करते। { $codes } में से एक लिखें या छोड़ दें।
agent-no-facility = आपको कोई स्वास्थ्य केंद्र नहीं दिया गया है। अधिकारी इसे ठीक करके { $name } की बुकिंग करेंगे।
agent-no-free-slot = आपके केंद्रों पर { $case } के लिए कोई खाली समय नहीं है। अधिकारी { $name } की बुकिंग करके आपको बताएँगे।
agent-unknown-tracking-id = ट्रैकिंग आईडी { $tracking_id } मान्य नहीं है। फ़ॉलो-अप SMS में आईडी देखें।
agent-tracking-id-typo = ट्रैकिंग आईडी { $tracking_id } में टाइपिंग की गलती है। अंक जाँचकर फिर भेजें।
agent-follow-up-mismatch = फ़ोन या ट्रैकिंग आईडी अपॉइंटमेंट से मेल नहीं खाते। फ़ॉलो-अप SMS देखकर फिर भेजें।
agent-not-processed = आपका SMS पढ़ा नहीं जा सका। एक अधिकारी इसे देखेंगे।

agent-follow-up = फ़ॉलो-अप { $tracking_id }: क्या { $name } { $date } { $time } को { $facility } गए ({ $case })? हाँ: -1 SC { $phone } { $name } { $tracking_id } नहीं: -1 RS { $phone } { $name } { $tracking_id }
patient-reminder = याद दिलाना: { $name }, कल { $date } को { $time } बजे { $case } के लिए { $facility }, { $address } पर जाएँ
patient-appointment-changed = बदलाव: { $name }, { $date } को { $time } बजे { $case } के लिए { $facility }, { $address } पर जाएँ
patient-appointment-cancelled = { $name }: { $facility } में { $date } { $time } बजे का { $case } अपॉइंटमेंट रद्द हो गया है। आपकी स्वास्थ्य कार्यकर्ता आपको नई तारीख बताएँगी।
agent-completed = दर्ज हुआ: { $name } { $case } के लिए गए। धन्यवाद।
agent-rescheduled = फिर से बुक हुआ: { $name } ({ $case }) { $facility } में { $date } { $time } बजे।
agent-reply-repeated = { $name } ({ $tracking_id }) के लिए पहले ही दर्ज है। कुछ नहीं बदला।
agent-reply-not-applied = { $name } का अपॉइंटमेंट { $status ->
    [completed] पहले ही पूरा हो चुका है
    [cancelled] रद्द हो चुका है
   *[other] बंद हो चुका है
}। आपके जवाब से कुछ नहीं बदला।
agent-escalated = { $name } का समय बहुत बार बदला गया। एक अधिकारी आपको फ़ोन करेंगे।
