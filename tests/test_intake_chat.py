"""`dealcli intake chat`: Telegram webhook updates and the generic shape, threaded by chat."""

from __future__ import annotations

import json

import pytest
from intake_helpers import configure, error_lines, failed, records


def update(n: int, text: str | None = "Hello", chat: int = 4242, **extra) -> str:
    message = {"message_id": n, "date": 1773144000 + n * 60, "chat": {"id": chat, "type": "private"},
               "from": {"id": chat, "is_bot": False, "first_name": "Олег", "last_name": "Ким", "username": "olegk"}}
    if text is not None:
        message["text"] = text
    message.update(extra)
    return json.dumps({"update_id": 1000 + n, "message": message}, ensure_ascii=False)


@pytest.fixture
def chatrepo(repo):
    configure(repo, user="bot@ourshop.example", chat={"stage": "preparation"})
    return repo


def test_telegram_messages_of_one_chat_go_to_one_deal(cli, chatrepo):
    first = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(1, "Здравствуйте!\nНужен счёт")))[0]
    assert first["status"] == "created"
    second = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(2, None, photo=[{"file_id": "x"}])))[0]
    assert second["status"] == "attached" and second["deal"] == first["deal"]
    acts = records(chatrepo, "activities")
    one, two = acts[first["id"]], acts[second["id"]]
    assert (one["type"], one["channel"], one["chat"], one["subject"]) == ("chat", "telegram", "telegram:4242",
                                                                       "Здравствуйте!")
    assert one["body"] == "Здравствуйте!\nНужен счёт" and one["due"] == "2026-03-10T12:01:00+00:00"
    assert two["body"] == "[photo]" and one["created_by"] == "bot@ourshop.example"
    [contact] = records(chatrepo, "contacts").values()
    assert contact["name"] == "Олег Ким" and contact["fields"] == {"chat": "telegram:4242", "username": "olegk"}
    deal = records(chatrepo, "deals")[first["deal"]]
    assert deal["title"] == "Chat: Олег Ким" and deal["stage"] == "preparation" and deal["source"] == "telegram"
    other = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(3, "hi", chat=77)))[0]
    assert other["deal"] != first["deal"]
    assert cli("check").returncode == 0


def test_a_redelivered_update_creates_nothing_and_non_messages_are_ignored(cli, chatrepo):
    cli.ok("intake", "chat", input=update(1))
    before = records(chatrepo, "activities")
    row = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(1)))[0]
    assert row["status"] == "duplicate" and records(chatrepo, "activities") == before
    proc = cli("intake", "chat", input=json.dumps({"update_id": 9, "edited_message": {"message_id": 1}}))
    assert proc.returncode == 0 and proc.stdout == "" and "ignored" in proc.stderr
    assert records(chatrepo, "activities") == before and failed(chatrepo) == {}


def test_the_generic_shape_finds_the_client_by_email(cli, chatrepo):
    known = cli.ok("contact", "add", "Linda Park", "--email", "linda@globex.example").strip()
    message = {"channel": "site-chat", "chat_id": "s-19", "message_id": "m1", "date": "2026-03-10T10:00:00+01:00",
               "text": "Is there a discount?", "from": {"name": "Linda", "email": "linda@globex.example"}}
    row = json.loads(cli.ok("intake", "chat", "-f", "json", input=json.dumps(message)))[0]
    assert row["contact"] == known
    activity = records(chatrepo, "activities")[row["id"]]
    assert activity["chat"] == "site-chat:s-19" and activity["due"] == "2026-03-10T09:00:00+00:00"
    message.update(message_id="m2", text="And delivery?", **{"from": {"name": "Linda"}})
    assert json.loads(cli.ok("intake", "chat", "-f", "json", input=json.dumps(message)))[0]["deal"] == row["deal"]


@pytest.mark.parametrize("body, needle", [
    ("not json", "not a JSON chat message"),
    ('{"chat_id": "x", "text": "hi"}', "message_id: missing"),
    ('{"update_id": 1, "message": {"message_id": 1, "date": 1}}', "message.chat: missing"),
])
def test_a_malformed_chat_message_exits_65_and_is_kept(cli, chatrepo, body, needle):
    proc = cli("intake", "chat", input=body)
    assert proc.returncode == 65 and proc.stdout == ""
    [line] = error_lines(proc)
    assert needle in line and "kept as inbox/failed/" in line
    [item] = failed(chatrepo).values()
    assert item["kind"] == "chat" and (chatrepo / "inbox" / "failed" / item["payload"]).read_text() == body


def group_update(n: int, user: int, first: str, text: str | None = "Hi", **extra) -> str:
    message = {"message_id": n, "date": 1773144000 + n * 60, "chat": {"id": -100777, "type": "supergroup",
                                                                       "title": "Acme x OurShop"},
               "from": {"id": user, "is_bot": False, "first_name": first}}
    if text is not None:
        message["text"] = text
    message.update(extra)
    return json.dumps({"update_id": 2000 + n, "message": message}, ensure_ascii=False)


def test_the_same_telegram_user_in_a_group_is_the_same_contact(cli, chatrepo):
    private = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(1)))[0]  # Oleg, id 4242, privately
    in_group = json.loads(cli.ok("intake", "chat", "-f", "json", input=group_update(2, 4242, "Oleg")))[0]
    assert in_group["contact"] == private["contact"]  # not a second contact for the group
    other = json.loads(cli.ok("intake", "chat", "-f", "json", input=group_update(3, 5151, "Mira")))[0]
    assert other["contact"] != private["contact"]  # another person in the same group: another contact
    assert len(records(chatrepo, "contacts")) == 2
    assert other["deal"] == in_group["deal"]  # one group chat: one deal


@pytest.mark.parametrize("extra, body", [
    ({"game": {"title": "Lucky Spin", "description": "x", "photo": []}}, "[game: Lucky Spin]"),
    ({"invoice": {"title": "40 licences", "description": "x", "start_parameter": "s", "currency": "EUR",
                  "total_amount": 145000}}, "[invoice: 40 licences, 1450.00 EUR]"),
    ({"successful_payment": {"currency": "JPY", "total_amount": 5000, "invoice_payload": "order-17",
                             "telegram_payment_charge_id": "t", "provider_payment_charge_id": "p"}},
     "[payment received: 5000 JPY for order-17]"),
    ({"refunded_payment": {"currency": "XTR", "total_amount": 50, "invoice_payload": "order-18",
                           "telegram_payment_charge_id": "t"}}, "[payment refunded: 50 XTR for order-18]"),
    ({"poll": {"id": "1", "question": "Which plan?", "options": []}}, "[poll: Which plan?]"),
    ({"contact": {"phone_number": "+49301234567", "first_name": "Hans"}}, "[contact: Hans +49301234567]"),
    ({"sticker": {"file_id": "x"}}, "[sticker]"),
])
def test_messages_without_text_are_described(cli, chatrepo, extra, body):
    row = json.loads(cli.ok("intake", "chat", "-f", "json", input=update(1, None, **extra)))[0]
    assert records(chatrepo, "activities")[row["id"]]["body"] == body
