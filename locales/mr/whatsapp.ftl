# WhatsApp replies to clients. Every message id here must exist in every language.
