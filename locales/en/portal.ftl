# Client portal pages. Every message id here must exist in every language.

portal-brand = Sandesh
portal-skip-link = Skip to content
portal-language-label = Language
portal-language-change = Change
portal-sign-out = Sign out
portal-back-home = Back to my requests

portal-login-title = Sign in
portal-login-intro = Use the login and password we sent you on WhatsApp.
portal-login-login = Login
portal-login-password = Password
portal-login-submit = Sign in
portal-login-help = No password, or it stopped working? Send "password" to us on WhatsApp and we will reply with a new one.
portal-login-expired = Your session has ended. Sign in again.
portal-login-signed-out = You have signed out.
portal-login-wrong = The login or password is wrong. Check both and try again.
portal-login-password-spent = This password has already been used or has expired. Send "password" to us on WhatsApp to get a new login and password.
portal-login-rate-limited = Too many wrong attempts. Wait { $minutes } minutes and try again, or send "password" on WhatsApp for a new password.

portal-home-title = How can we help?
portal-home-intro = Choose how you want to ask for help.
portal-choice-form = Fill a form
portal-choice-form-hint = Describe your need and a helper will take it up.
portal-choice-chat = Chat with a helper
portal-choice-chat-hint = Write to a helper and get answers here.
portal-requests-heading = My requests
portal-requests-empty = You have no requests yet.
portal-request-title = Request { $id }

portal-status-open = Waiting for a helper
portal-status-assigned = A helper is on it
portal-status-closed = Closed

portal-category-health = Health
portal-category-documents = Documents
portal-category-benefits = Benefits and schemes
portal-category-appointment = Appointment
portal-category-other = Something else

portal-new-form-title = Fill a form
portal-new-form-intro = Tell us what you need. Fields marked as required must be filled.
portal-new-form-submit = Send request
portal-new-chat-title = Chat with a helper
portal-new-chat-intro = Choose your area and the topic, and the chat opens at once.
portal-new-chat-submit = Start chat
portal-errors-title = Please correct the marked fields
portal-errors-not-sent-title = Your request was not sent

portal-field-name = Your name (required)
portal-field-phone = Phone number (required)
portal-field-phone-hint = 10-digit mobile number, such as 98765 43210. Add + and the country code for a number outside India.
portal-field-category = Topic (required)
portal-field-area = Area (required)
portal-field-description = What do you need? (required)
portal-field-description-hint = At most { $max } characters.
portal-field-choose = Choose…
portal-field-status = Status
portal-field-created = Sent on
portal-detail-name = Name
portal-detail-phone = Phone number
portal-detail-category = Topic
portal-detail-area = Area
portal-detail-description = Description

portal-error-area = Choose your area from the list.
portal-error-category = Choose a topic from the list.
portal-error-name-missing = Enter your name.
portal-error-name-long = Your name is too long: use at most { $max } characters.
portal-error-phone-missing = Enter your phone number.
portal-error-phone-invalid = This is not a valid phone number. Enter a 10-digit mobile number such as 98765 43210, or + and the country code.
portal-error-description-missing = Describe what you need.
portal-error-description-long = The description is too long: use at most { $max } characters.
portal-error-too-many-requests = You already have { $max } requests that are not closed. Write in the chat of one of them, or wait until a helper closes one.

portal-request-waiting = Your request is waiting for a helper. You can already write in the chat below.
portal-request-assigned = A helper has taken your request and will answer in the chat below.
portal-request-closed = This request is closed. You can still read the chat.

portal-chat-heading = Chat
portal-chat-send = Send
portal-chat-placeholder = Write a message
portal-chat-message = Message
portal-chat-attach = Attach a file
portal-chat-older = Show older messages
portal-chat-sent = Sent
portal-chat-sending = Sending…
portal-chat-delivered = Delivered
portal-chat-read = Read
portal-chat-failed = Not sent
portal-chat-me = You
portal-chat-helper = Helper
portal-chat-read-only = This chat is closed for new messages.
portal-chat-connecting = Connecting…
portal-chat-offline = Connection lost. Trying again…
portal-chat-upload-failed = The file could not be sent. Use a photo or PDF under the size limit and try again.
portal-chat-upload-too-many = Too many of your uploaded files were never sent in a message. Please try again after a day.
portal-chat-empty = No messages yet.
portal-chat-too-long = The message is too long to send. Shorten it or split it.
portal-chat-ended = This chat has ended for you: sign in again or reload the page.
portal-chat-rejected = This message could not be sent. Reload the page and try again.
portal-chat-error = Something went wrong in the chat. If a message stays unsent, reload the page.
portal-chat-no-script = The chat needs JavaScript. Turn it on in your browser to write to a helper.

portal-error-forbidden-title = Form expired
portal-error-forbidden = The page was open too long or in another window. Go back, reload the page and try again.
portal-error-not-found-title = Not found
portal-error-not-found = There is no such page, or it is not yours.
portal-error-busy-title = Busy
portal-error-busy = The service is busy. Try again in a moment.
portal-error-internal-title = Something went wrong
portal-error-internal = The request failed. We have noted the error; try again later.
