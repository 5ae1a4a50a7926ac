"""Sample data for `dealcli init --example`: companies, contacts, a product catalogue and about
twenty deals spread over the stages (open, won, lost, a repeat deal, comments), activities
(overdue, today, later; some deals have none), leads (one converted) and a quote, and two years
of earlier purchases (won deals, PURCHASES) for `predict repeat` to learn from, made through the
same core operations a user would call, so their history is real."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dealcli import activities, deals, leads, products, quotes
from dealcli.session import Session

USERS = ("anna@example.com", "boris@example.com", "chen@example.com")

# title, company, contact, products, stage/outcome, responsible index, days ago, close in days
DEALS = [
    ("Website redesign", "Northwind Traders", "Laura Callahan", ["Design sprint:4800:1", "Hosting (year):360:1"],
     "won", 0, 60, -20),
    ("Website maintenance 2027", "Northwind Traders", "Laura Callahan", ["Maintenance hours:90:40:10"],
     "preparation", 0, 5, 30),
    ("CRM rollout", "Contoso Ltd", "Michael Suyama", ["Licence (seat/year):240:25:15", "Onboarding:1500"],
     "executing", 1, 40, 10),
    ("Data migration", "Contoso Ltd", "Michael Suyama", ["Migration package:3200"], "final_invoice", 1, 35, 3),
    ("Office network upgrade", "Fabrikam Inc", "Nancy Davolio", ["Switch 48p:1290:4", "Installation:800"],
     "prepayment_invoice", 2, 20, 14),
    ("Security audit", "Fabrikam Inc", "Nancy Davolio", ["Audit:5600"], "lose", 2, 50, -30),
    ("Annual support plan", "Adventure Works", "Andrew Fuller", ["SUP-Y:1:5"], "won", 0, 90, -45),
    ("Support plan upgrade", "Adventure Works", "Andrew Fuller", ["Premium add-on:3000"], "new", 0, 2, 45),
    ("Mobile app MVP", "Tailspin Toys", "Janet Leverling", ["App MVP:18500"], "executing", 1, 25, 21),
    ("Training workshop", "Tailspin Toys", "Janet Leverling", ["WS-DAY:2"], "apology", 1, 45, -10),
    ("Cloud backup", "Wide World Importers", "Robert King", ["Backup TB/month:25:12:0:20"], "new", 2, 1, 60),
    ("Printer fleet lease", "Wide World Importers", "Robert King", ["Printer lease:75:24"], "preparation", 2, 12,
     20),
    ("ERP integration", "Litware Inc", "Steven Buchanan", ["Integration:9900"], "won", 1, 75, -35),
    ("ERP integration phase 2", "Litware Inc", "Steven Buchanan", ["Integration phase 2:7400"], "new", 1, 3, 40),
    ("Helpdesk outsourcing", "Proseware Inc", "Margaret Peacock", ["Helpdesk seat/month:45:120"],
     "prepayment_invoice", 0, 18, 7),
    ("Analytics dashboard", "Proseware Inc", "Margaret Peacock", ["Dashboard:4300"], "lose", 0, 30, -5),
    ("E-commerce storefront", "Lucerne Publishing", "Anne Dodsworth", ["Storefront:14200", "Payment setup:600"],
     "final_invoice", 2, 28, 2),
    ("Laptop refresh", "Lucerne Publishing", "Anne Dodsworth", ["LAP-14:12:3"], "executing", 2, 15, 12),
    ("SEO retainer", "Blue Yonder Airlines", "Ian Wright", ["SEO month:950:6"], "new", 1, 0, 30),
    ("Email migration", "Blue Yonder Airlines", "Ian Wright", ["Mailbox:12:150"], "won", 1, 55, -25),
]
COMMENTS = {
    "Website redesign": "Signed after the second demo; they want hosting included.",
    "CRM rollout": "Pilot with the sales team went well, rolling out to support next.",
    "Security audit": "Went with an incumbent vendor.",
    "Mobile app MVP": "Waiting for the brand guide from their marketing team.",
}
ORDER = ["new", "preparation", "prepayment_invoice", "executing", "final_invoice"]
# name, price, tax %, sku, unit: the catalogue; deals above name products by SKU ("SKU:QTY[:DISCOUNT]")
CATALOGUE = [
    ("Support plan (year)", "12000", "0", "SUP-Y", "year"),
    ("Workshop day", "1200", "0", "WS-DAY", "day"),
    ("Laptop", "1150", "20", "LAP-14", "piece"),
    ("Consulting hour", "120", "0", "CONS-H", "hour"),
]
# two years of repeat purchases before the deals above: company, contact, product spec, every
# (days), how many, the first one (days ago), responsible index; each day moves by a few days
PURCHASES = [
    ("Northwind Traders", "Laura Callahan", "CONS-H:20", 90, 7, 700, 0),
    ("Adventure Works", "Andrew Fuller", "SUP-Y:1", 365, 2, 755, 0),
    ("Contoso Ltd", "Michael Suyama", "Licence (seat/year):240:25:15", 180, 4, 690, 1),
    ("Litware Inc", "Steven Buchanan", "WS-DAY:1", 120, 5, 640, 1),
    ("Wide World Importers", "Robert King", "LAP-14:2", 200, 3, 610, 2),
    ("Proseware Inc", "Margaret Peacock", "CONS-H:10", 75, 6, 560, 0),
    ("Tailspin Toys", "Janet Leverling", "WS-DAY:2", 1, 1, 400, 1),
    ("Fabrikam Inc", "Nancy Davolio", "CONS-H:40", 200, 2, 500, 2),
]
# deal title, type, subject, due (days from now, hour); done=True marks it done at once
ACTIVITIES = [
    ("CRM rollout", "call", "Check the pilot feedback", -1, 10, False),
    ("E-commerce storefront", "email", "Send the final invoice", -3, 9, False),
    ("Data migration", "meeting", "Go-live review", 0, 17, False),
    ("Office network upgrade", "task", "Order the switches", 2, 11, False),
    ("Mobile app MVP", "meeting", "Sprint demo", 9, 14, False),
    ("Helpdesk outsourcing", "call", "Agree the SLA", 20, 10, False),
    ("Laptop refresh", "call", "Confirm the models", -2, 15, True),
]


def populate(root: Path, now: dt.datetime) -> int:
    """Create the sample records; returns how many deals were made."""

    def at(days_ago: float, user: str) -> Session:
        when = now - dt.timedelta(days=days_ago)
        return Session(repo_root=root, as_user=user, now_text=when.isoformat(), quiet=True)

    for name, price, tax, code, unit in CATALOGUE:
        products.add(at(120, USERS[0]), name, price, tax=tax, sku=code, unit=unit)

    made = 0
    for company, contact, spec, every, count, first, who in PURCHASES:
        for i in range(count):
            days = first - i * every + (i * 7 % 11) - 5
            s, when = at(days, USERS[who]), (now - dt.timedelta(days=days)).date()
            deal = deals.add(s, deals.DealSpec(title=f"{company}: order of {when:%B %Y}", company=company,
                                               contacts=[contact], products=[spec], responsible=USERS[who],
                                               close_date=when.isoformat(), source="example", type="sale"))
            deals.close(at(days - 0.2, USERS[who]), [deal.id], True, None, None)
            made += 1
    by_title = {}
    for title, company, contact, specs, outcome, who, days, close_in in DEALS:
        user = USERS[who]
        s = at(days, user)
        close_date = (now + dt.timedelta(days=close_in)).date().isoformat()
        deal = deals.add(s, deals.DealSpec(title=title, company=company, contacts=[contact], products=specs,
                                           responsible=user, close_date=close_date, source="example",
                                           type="sale"))
        by_title[title] = deal.id
        made += 1
        if title in COMMENTS:
            deals.comment(at(days - 0.5, user), [deal.id], COMMENTS[title])
        if outcome in ORDER:
            if outcome != "new":
                deals.move(at(days * 0.6, user), [deal.id], outcome)
        elif outcome == "won":
            deals.move(at(days * 0.7, user), [deal.id], "executing")
            deals.close(at(days * 0.3, user), [deal.id], True, None, None)
        else:
            deals.close(at(days * 0.4, user), [deal.id], False, outcome,
                        "chose a competitor" if outcome == "lose" else "budget cut")
    today = now.replace(minute=0, second=0, microsecond=0)
    for title, kind, subject, in_days, hour, done in ACTIVITIES:
        due = (today + dt.timedelta(days=in_days)).replace(hour=hour)
        made_by = at(max(1, -in_days) + 1, USERS[0])
        act = activities.add(made_by, by_title[title], kind, subject, due.isoformat())
        if done:
            activities.done(at(max(0, -in_days), USERS[0]), [act["id"]])
    lead = leads.add(at(4, USERS[1]), "Intranet relaunch", contact_name="Laura Callahan",
                     company_name="Northwind Traders", email="laura@northwind.example", source="web", amount="8000")
    deals.convert_lead(at(3, USERS[1]), lead["id"])
    made += 1
    leads.add(at(1, USERS[2]), "Conference booth screens", contact_name="Olivia Bright", company_name="Trey Research",
              email="olivia@trey.example", phone="+1 425 555 0199", source="fair", amount="2400")
    quotes.add(at(6, USERS[2]), "Managed print offer", ["CONS-H:10", "Printer lease:75:24"],
               company="Wide World Importers", contacts=["Robert King"], valid_until=(now + dt.timedelta(days=14))
               .date().isoformat())
    return made
