"""`dealcli check`: schema, model, stage-rule and link validation of every file."""
