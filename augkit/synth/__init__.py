"""`augkit synth`: labelled text-line crops (MRZ lines, passport fields, Korean names, corpus
lines) rendered when real crops are scarce, in `augkit generate`'s output layout (see run.py)."""
