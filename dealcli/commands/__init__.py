"""One module per noun. Each command: parse options -> one core call -> render."""
