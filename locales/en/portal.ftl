# Client portal pages. Every message id here must exist in every language.
