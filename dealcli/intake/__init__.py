"""Intake: deals that arrive by themselves (see docs/intake.md).

  mail.py    e-mail: one RFC 5322 message, a .eml file, an mbox or a Maildir
  forms.py   website forms (forms/<name>.yaml) and their submissions
  calls.py   call records: Asterisk CDR (Master.csv) and any CSV with a column map
  chat.py    chat messages: a Telegram Bot API update or the generic shape
  route.py   what they share: the intake user, clients by address/phone, the open deal,
             the activity that records a message, deterministic ids
  inbox.py   nothing is lost: inbox/failed/ keeps what could not be processed; retry
  wsgi.py    the WSGI application posting to forms (gunicorn dealcli.intake.wsgi:app)
  reply.py   answering back: `dealcli reply` / `deal email` through SMTP, kept on the deal

Every record is created through the core use cases (deals.add, clients, activities.add,
leads.add), under the repository lock, with ids derived from the message's own identity
(Message-ID, call id, chat and message id), so a re-delivery creates nothing twice."""
