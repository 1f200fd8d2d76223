# SMS texts in English. Every message id here must exist in every language;
# a unit test checks that. Each text is also the DLT template registered
# with the SMS provider, so change wording together with the registration.

-usage = Send: <agent-id> <case-code> <name> <phone>
-reply-usage = Send: -1 SC or RS <phone> <name> <tracking-id>

field-name = { $field ->
    [agent_id] agent id
    [case_code] case code
    [beneficiary_name] name
    [beneficiary_phone] phone
    [facility_code] facility code
    [outcome] SC or RS
    [tracking_id] tracking id
   *[message] message
}

# To the beneficiary when an appointment is booked or moved.
patient-appointment = { $name } visit { $facility }, { $address } on { $date } at { $time } for { $case }

# To the agent when a booking succeeded.
agent-booked = Booked: { $name } ({ $case }) at { $facility } on { $date } { $time }.

agent-already-booked = { $name } already has { $case } at { $facility } on { $date } { $time }. Nothing changed.
agent-unknown-agent = Agent id { $agent_id } is not registered. Check your id. { -usage }
agent-unknown-sender = This phone is not registered for any agent. Send from your registered phone or call your officer.
agent-inactive-agent = Agent id { $agent_id } is not active. Please call your officer.
agent-sender-mismatch = This phone is not registered for agent id { $agent_id }. Send from your registered phone.
agent-empty-message = Your SMS was empty. { -usage }
agent-message-too-long = Your SMS is too long ({ $chars } characters). { -usage }
agent-control-character = Your SMS has an unreadable character. Type it again. { -usage }
agent-missing-field = { field-name } is missing. { -usage }
agent-invalid-field = { field-name } "{ $value }" is wrong. { -usage }
agent-invalid-phone = Phone "{ $value }" is wrong: use 10 digits starting 6-9. { -usage }
agent-trailing-text = Extra text "{ $value }" at the end. { -usage }
agent-missing-reply-field = { field-name } is missing. { -reply-usage }
agent-invalid-reply-field = { field-name } "{ $value }" is wrong. { -reply-usage }
agent-unknown-case-type = Case code { $code } is unknown. Did you mean { $suggestion }? Send again with the right code.
agent-unknown-facility = Facility code { $code } is unknown. Use one of { $codes } or leave it out.
agent-facility-not-assigned = You do not work at facility { $code }. Use one of { $codes } or leave it out.
agent-no-facility = You have no health facility assigned. An officer will fix this and book { $name }.
agent-no-free-slot = No free { $case } slot at your facilities. An officer will book { $name } and tell you.
agent-unknown-tracking-id = Tracking id { $tracking_id } is not known. Check the id in the follow-up SMS.
agent-tracking-id-typo = Tracking id { $tracking_id } has a typing mistake. Check the digits and send again.
agent-follow-up-mismatch = Phone or tracking id does not match the appointment. Check the follow-up SMS and send again.
agent-not-processed = Your SMS could not be read. An officer will check it.

# Follow-up and reminders.
agent-follow-up = Follow-up { $tracking_id }: did { $name } go to { $facility } on { $date } { $time } ({ $case })? Yes: -1 SC { $phone } { $name } { $tracking_id } No: -1 RS { $phone } { $name } { $tracking_id }
patient-reminder = Reminder: { $name } visit { $facility }, { $address } tomorrow { $date } at { $time } for { $case }
patient-appointment-changed = Changed: { $name } visit { $facility }, { $address } on { $date } at { $time } for { $case }
patient-appointment-cancelled = { $name }: the { $case } visit at { $facility } on { $date } { $time } is cancelled. Your health worker will give you a new date.
agent-completed = Recorded: { $name } went for { $case }. Thank you.
agent-rescheduled = Rebooked: { $name } ({ $case }) at { $facility } on { $date } { $time }.
agent-reply-repeated = Already recorded for { $name } ({ $tracking_id }). Nothing changed.
agent-reply-not-applied = The appointment of { $name } is { $status ->
    [completed] already completed
    [cancelled] cancelled
   *[other] closed
}. Your reply changed nothing.
agent-escalated = { $name } was rescheduled too often. An officer will call you.
