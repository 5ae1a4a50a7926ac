"""What `dealcli import --preset NAME` knows about other CRMs' deal exports: their column
labels (in every language we have seen them in), their default stage names mapped to the stages
of dealcli's default pipeline, and their quirks. `--map` and `--stage-map` override a preset.

Targets are deal fields (title, amount, ...), the import-only targets of importing.TARGETS
(company, contact, product, status, won, closed, deleted, ...), or `fields.NAME` for a custom
field the preset keeps (for example the Salesforce account id).

A preset's quirks are its own: the planner asks every preset the same questions (`category_of`,
`outcome`, `percent`, `product_price`, `contact_names`, `is_none`, `misfiled` ...) and an
import without --preset asks GENERIC, which has none of them; no planner branch names a CRM."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal


def key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


# stage codes that mean won / lost in any export (a preset adds its own codes)
WON_STAGES = {"won", "closed won", "win", "success", "сделка успешна", "успешно реализовано"}
LOST_STAGES = {"lost", "lose", "closed lost", "failed", "сделка провалена", "закрыто и не реализовано"}


@dataclass(frozen=True)
class Preset:
    name: str
    columns: dict  # key(label) -> target
    stages: dict = field(default_factory=dict)  # key(source stage) -> stage id of the default pipeline
    default_pipelines: tuple = ()  # source pipeline names that mean "the default pipeline"
    group_rows: bool = False  # one row per product row: consecutive rows of one deal are grouped
    amount_is_row_total: bool = False  # the amount column holds each product row's total
    probability_fraction: bool = False  # probability written as 0..1
    multi_sep: str | None = None  # separator of multi-value cells (contacts)
    category_stages: bool = False  # Bitrix24: "C6:NEW" is stage NEW of pipeline (category) 6
    won_stages: tuple = ()  # key()s of stage codes that mean won / lost in any pipeline
    lost_stages: tuple = ()
    none_values: dict = field(default_factory=dict)  # key(column) -> values that mean "none" (ids: 0)
    names_in_id_columns: dict = field(default_factory=dict)  # key(column) -> target of a value that is no number
    records: dict = field(default_factory=dict)  # kind -> key(label) -> field: its record exports (--kind)

    def target(self, column: str) -> str | None:
        return self.columns.get(key(column))

    def stage(self, value: str) -> str | None:
        return self.stages.get(key(value))

    # -- the quirks, asked by the planner (importing/planning.py) without knowing which CRM it is
    def category_of(self, text: str) -> tuple[str | None, str]:
        """(pipeline category, stage code) of a source stage value: Bitrix24's "C6:NEW" is stage
        NEW of category 6; for other exports (None, the value)."""
        m = re.fullmatch(r"C(\d+):(.+)", text) if self.category_stages else None
        return (m[1], m[2]) if m else (None, text)

    def outcome(self, code: str) -> str | None:
        """"won" or "lost" when a stage code means it in any pipeline, else None."""
        word = key(code)
        if word in WON_STAGES or word in self.won_stages:
            return "won"
        if word in LOST_STAGES or word in self.lost_stages:
            return "lost"
        return None

    def means_default_pipeline(self, text: str) -> bool:
        """A pipeline name of the source system's default pipeline (`General`, `Воронка` ...)."""
        return key(text) in {key(n) for n in self.default_pipelines}

    def contact_names(self, text: str) -> list[str]:
        """The contacts a contact cell names (HubSpot joins several with ';')."""
        return [n.strip() for n in text.split(self.multi_sep)] if self.multi_sep else [text]

    def percent(self, value) -> int | None:
        """A probability cell as a whole percentage (HubSpot writes 0..1)."""
        from dealcli.importing.values import parse_percent

        return parse_percent(value, self.probability_fraction)

    def amount_is_deal_amount(self, has_products: bool) -> bool:
        """Whether the amount column holds the deal's amount (Bitrix24: each product row's total)."""
        return not (has_products and self.amount_is_row_total)

    def product_price(self, row_amount: Decimal | None, quantity: Decimal, rows: int) -> Decimal:
        """The price of a product row whose export gives no price, from the row's amount: its
        total over the quantity (Bitrix24), or a single product at quantity 1 priced at the deal
        amount; else 0."""
        if self.amount_is_row_total and row_amount is not None and quantity:
            price = row_amount / quantity
            exponent = price.as_tuple().exponent
            return price.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent < -6 else price
        if rows == 1 and row_amount is not None and quantity == 1:
            return row_amount
        return Decimal(0)

    def is_none(self, column: str, text: str) -> bool:
        """A cell that means "none" in its column (ids: 0; "'-99": SuiteCRM's formula guard before
        its base-currency id)."""
        return text.removeprefix("'") in self.none_values.get(key(column), ())

    def misfiled(self, column: str, target: str, text: str) -> bool:
        """An id column holding a name, or its name target reading an id (Bitrix24
        ASSIGNED_BY_ID = "Petrov"): the cell is not for `target`."""
        name_target = self.names_in_id_columns.get(key(column))
        return bool(name_target) and (target == name_target) == text.isdigit()


def _cols(**by_target) -> dict:
    out = {}
    for target, labels in by_target.items():
        for label in labels:
            out[key(label)] = target.replace("__", ".")
    return out


def _stages(**by_stage) -> dict:
    out = {}
    for stage, names in by_stage.items():
        for n in names:
            out[key(n)] = stage
    return out


BITRIX24 = Preset(
    name="bitrix24",
    columns=_cols(
        origin_id=["ID"],
        title=["Deal Name", "Название сделки", "TITLE"],
        stage=["Stage", "Стадия сделки", "STAGE_ID"],
        amount=["Income", "Сумма", "OPPORTUNITY"],
        currency=["Currency", "Валюта", "CURRENCY_ID"],
        probability=["Probability, %", "Probability", "Вероятность", "PROBABILITY"],
        responsible=["Responsible", "Ответственный", "ASSIGNED_BY"],
        company=["Company", "Компания"],
        contact=["Contact", "Контакт"],
        # an export by field id holds ids, not names: kept as custom fields (0 means none)
        fields__bitrix_company_id=["COMPANY_ID"],
        fields__bitrix_contact_id=["CONTACT_ID"],
        fields__bitrix_assigned_by_id=["ASSIGNED_BY_ID"],
        type=["Type", "Тип", "TYPE_ID"],
        source=["Source", "Источник", "SOURCE_ID"],
        closed=["Closed", "Сделка закрыта", "CLOSED"],
        created=["Created", "Дата создания", "DATE_CREATE"],
        begin=["Start date", "Дата начала", "BEGINDATE"],
        close_date=["Assumed close date", "Предполагаемая дата закрытия", "CLOSEDATE"],
        comment=["Comment", "Комментарий", "COMMENTS"],
        pipeline=["Pipeline", "Направление", "CATEGORY_ID"],
        product=["Product", "Товар", "PRODUCT_ID", "CRM_COLUMN_PRODUCT_NAME"],
        product_price=["Price", "Цена", "CRM_COLUMN_PRODUCT_PRICE"],
        product_quantity=["Quantity", "Количество", "CRM_COLUMN_PRODUCT_QUANTITY"],
        fields__source_description=["Source information", "Дополнительно об источнике", "SOURCE_DESCRIPTION"],
    ),
    stages=_stages(
        new=["NEW", "New", "Новая", "Новая сделка"],
        preparation=["PREPARATION", "Preparing documents", "Подготовка документов"],
        prepayment_invoice=["PREPAYMENT_INVOICE", "PREPAYMENT_INVOICING", "Prepayment invoice",
                            "Счёт на предоплату", "Счет на предоплату"],
        executing=["EXECUTING", "In progress", "В работе"],
        final_invoice=["FINAL_INVOICE", "Final invoice", "Финальный счёт", "Финальный счет"],
        won=["WON", "Deal won", "Сделка успешна", "Успешно"],
        lose=["LOSE", "Deal lost", "Сделка провалена", "Провалена"],
        apology=["APOLOGY", "Analyze failure", "Анализ причины провала"],
    ),
    default_pipelines=("General", "Общая", "Общее", "Общее направление", "0", "Default", "Основная"),
    group_rows=True,
    amount_is_row_total=True,
    category_stages=True,
    won_stages=("won",),
    lost_stages=("lose", "apology"),
    none_values={k: ("0",) for k in ("company_id", "contact_id", "assigned_by_id", "category_id", "lead_id",
                                       "quote_id")},
    names_in_id_columns={"assigned_by_id": "responsible"},  # some exports write the surname there
    # REST field ids (crm.company.fields, crm.contact.fields, crm.activity.fields, as a REST dump to CSV
    # writes them) and the few list-export labels we know in Russian and English; ids of other records
    # (COMPANY_ID, ASSIGNED_BY_ID, RESPONSIBLE_ID) are numbers, kept as custom fields or left out
    records={
        "company": _cols(fields__bitrix_id=["ID"], name=["TITLE", "Название компании", "Company name"],
                         phones=["PHONE"], emails=["EMAIL"], fields__company_type=["COMPANY_TYPE"],
                         fields__industry=["INDUSTRY"], fields__bitrix_assigned_by_id=["ASSIGNED_BY_ID"],
                         created=["DATE_CREATE"]),
        "contact": _cols(fields__bitrix_id=["ID"], first_name=["NAME", "Имя", "First name"],
                         last_name=["LAST_NAME", "Фамилия", "Last name"], fields__second_name=["SECOND_NAME",
                         "Отчество"], fields__position=["POST", "Должность", "Position"], phones=["PHONE"],
                         emails=["EMAIL"], company=["Компания", "Company"], fields__bitrix_company_id=["COMPANY_ID"],
                         fields__bitrix_assigned_by_id=["ASSIGNED_BY_ID"], created=["DATE_CREATE"]),
        # crm.activity: OWNER_ID is the deal's ID (its origin_id) when OWNER_TYPE_ID is 2 (a deal);
        # TYPE_ID is a number (1 meeting, 2 call, 3 task, 4 e-mail): --value-map TYPE_ID:2=call
        "activity": _cols(subject=["SUBJECT"], type=["TYPE_ID"], due=["DEADLINE", "END_TIME"], done=["COMPLETED"],
                          deal=["OWNER_ID"], description=["DESCRIPTION"], created=["CREATED"]),
    },
)

PIPEDRIVE = Preset(
    name="pipedrive",
    columns=_cols(
        origin_id=["Deal - ID", "ID"],
        title=["Deal - Title", "Title"],
        responsible=["Deal - Owner", "Owner"],
        amount=["Deal - Value", "Value"],
        currency=["Deal - Currency of Value", "Deal - Currency", "Currency"],
        probability=["Deal - Probability", "Probability"],
        company=["Deal - Organization", "Organization"],
        pipeline=["Deal - Pipeline", "Pipeline"],
        contact=["Deal - Contact person", "Contact person"],
        stage=["Deal - Stage", "Stage"],
        status=["Deal - Status", "Status"],
        created=["Deal - Deal created", "Deal created"],
        closed_at=["Deal - Deal closed on", "Deal - Won time", "Deal - Lost time", "Won time", "Lost time"],
        lost_reason=["Deal - Lost reason", "Lost reason"],
        close_date=["Deal - Expected close date", "Expected close date"],
        product=["Deal - Product name", "Product name"],
        product_quantity=["Deal - Product quantity", "Product quantity"],
        source=["Deal - Source origin", "Source origin"],
        fields__label=["Deal - Label", "Label"],
        fields__source_channel=["Deal - Source channel", "Source channel"],
    ),
    # Pipedrive's default pipeline has five stages; they map by position onto ours.
    stages=_stages(
        new=["Qualified", "Lead In"],
        preparation=["Contact Made"],
        prepayment_invoice=["Demo Scheduled", "Needs Defined"],
        executing=["Proposal Made"],
        final_invoice=["Negotiations Started"],
    ),
    default_pipelines=("Pipeline", "Default pipeline", "Sales pipeline"),
    records={  # Activities > Export: "Activity - Deal ID" is the deal's "Deal - ID" (origin_id)
        "activity": _cols(subject=["Activity - Subject", "Subject"], type=["Activity - Type", "Type"],
                          due=["Activity - Due date", "Due date"], status=["Activity - Done", "Done"],
                          deal=["Activity - Deal ID", "Activity - Deal", "Deal"],
                          company=["Activity - Organization", "Organization"],
                          contact=["Activity - Contact person", "Contact person"],
                          responsible=["Activity - Assigned to user", "Assigned to user"],
                          description=["Activity - Note", "Note"], created=["Activity - Add time", "Add time"],
                          done_at=["Activity - Marked as done time", "Marked as done time"]),
        "contact": _cols(fields__pipedrive_id=["Person - ID"], name=["Person - Name"], emails=["Person - Email"],
                         phones=["Person - Phone"], company=["Person - Organization"],
                         responsible=["Person - Owner"], created=["Person - Person created"]),
        "company": _cols(fields__pipedrive_id=["Organization - ID"], name=["Organization - Name"],
                         responsible=["Organization - Owner"], created=["Organization - Organization created"]),
    },
)

HUBSPOT = Preset(
    name="hubspot",
    columns=_cols(
        origin_id=["Record ID", "Deal ID", "hs_object_id"],
        title=["Deal Name", "dealname"],
        stage=["Deal Stage", "dealstage"],
        amount=["Amount", "amount"],
        currency=["Currency", "Deal currency code", "deal_currency_code"],
        close_date=["Close Date", "closedate"],
        created=["Create Date", "createdate"],
        responsible=["Deal owner", "hubspot_owner_id"],
        pipeline=["Pipeline", "pipeline"],
        type=["Deal Type", "dealtype"],
        lost_reason=["Closed Lost Reason", "closed_lost_reason"],
        comment=["Deal Description", "description"],
        probability=["Deal probability", "hs_deal_stage_probability"],
        company=["Associated Company (Primary)", "Associated Company"],
        contact=["Associated Contact"],
        won=["Is Closed Won", "hs_is_closed_won"],
        closed=["Is Deal Closed?", "Is Closed (numeric)", "hs_is_closed"],
        source=["Original Traffic Source", "Record source", "hs_analytics_source"],
        fields__next_step=["Next step", "hs_next_step"],
        fields__priority=["Priority", "hs_priority"],
        fields__tags=["Deal Tags"],
    ),
    stages=_stages(
        new=["Appointment Scheduled", "appointmentscheduled"],
        preparation=["Qualified To Buy", "qualifiedtobuy"],
        prepayment_invoice=["Presentation Scheduled", "presentationscheduled"],
        executing=["Decision Maker Bought-In", "decisionmakerboughtin"],
        final_invoice=["Contract Sent", "contractsent"],
        won=["Closed Won", "closedwon"],
        lose=["Closed Lost", "closedlost"],
    ),
    default_pipelines=("Sales Pipeline", "default", "Pipeline"),
    probability_fraction=True,
    multi_sep=";",
    records={  # the contacts and companies exports (Contacts > Export)
        "contact": _cols(fields__hubspot_id=["Record ID"], first_name=["First Name"], last_name=["Last Name"],
                         emails=["Email"], phones=["Phone Number", "Mobile Phone Number"],
                         company=["Company Name", "Associated Company"], responsible=["Contact owner"],
                         created=["Create Date"], fields__lead_status=["Lead Status"]),
        "company": _cols(fields__hubspot_id=["Record ID"], name=["Company name", "Name"],
                         phones=["Phone Number"], responsible=["Company owner"], created=["Create Date"],
                         fields__domain=["Company Domain Name"], fields__industry=["Industry"]),
        # the tasks export (CRM > Tasks > Export): associations by name, "Associated Deal" = the deal's title
        "activity": _cols(subject=["Task Title", "Title", "hs_task_subject"], type=["Task Type", "hs_task_type"],
                          due=["Due Date", "hs_timestamp"], status=["Task Status", "hs_task_status"],
                          deal=["Associated Deal"], company=["Associated Company"], contact=["Associated Contact"],
                          responsible=["Assigned to", "Activity assigned to", "hubspot_owner_id"],
                          description=["Notes", "Task notes", "hs_task_body"], created=["Create Date"],
                          done_at=["Completed at", "hs_task_completion_date"]),
    },
)

# the standard sales process of Salesforce, SuiteCRM (SugarCRM CE) and vtiger: ten stages onto our
# five process stages
SALES_PROCESS_STAGES = _stages(
    new=["Prospecting", "Qualification"],
    preparation=["Needs Analysis", "Value Proposition"],
    prepayment_invoice=["Id. Decision Makers", "Perception Analysis"],
    executing=["Proposal/Price Quote"],
    final_invoice=["Negotiation/Review"],
    won=["Closed Won"],
    lose=["Closed Lost"],
)

SALESFORCE = Preset(
    name="salesforce",
    columns=_cols(
        origin_id=["Id", "Opportunity ID", "Opportunity Id"],
        title=["Name", "Opportunity Name"],
        stage=["StageName", "Stage"],
        amount=["Amount"],
        currency=["CurrencyIsoCode", "Opportunity Currency", "Amount Currency"],
        probability=["Probability", "Probability (%)"],
        close_date=["CloseDate", "Close Date"],
        type=["Type"],
        source=["LeadSource", "Lead Source"],
        comment=["Description"],
        won=["IsWon", "Won"],
        closed=["IsClosed", "Closed"],
        deleted=["IsDeleted"],
        created=["CreatedDate", "Created Date"],
        responsible=["Owner.Name", "Opportunity Owner", "Owner Name", "OwnerId"],
        company=["Account.Name", "Account Name"],
        lost_reason=["Loss_Reason__c", "LossReason__c", "Loss Reason", "Closed Lost Reason"],
        fields__salesforce_account_id=["AccountId", "Account ID"],
        fields__next_step=["NextStep", "Next Step"],
        fields__forecast_category=["ForecastCategoryName", "Forecast Category"],
    ),
    stages=SALES_PROCESS_STAGES,
    records={  # Data Loader exports of Account and Contact
        "company": _cols(fields__salesforce_id=["Id"], name=["Name", "Account Name"], phones=["Phone"],
                         fields__industry=["Industry"], fields__type=["Type"], fields__website=["Website"],
                         fields__billing_city=["BillingCity"], fields__billing_country=["BillingCountry"],
                         created=["CreatedDate"]),
        "contact": _cols(fields__salesforce_id=["Id"], first_name=["FirstName"], last_name=["LastName"],
                         name=["Name"], emails=["Email"], phones=["Phone", "MobilePhone"],
                         fields__salesforce_account_id=["AccountId"], company=["Account.Name"],
                         created=["CreatedDate"]),
        # Data Loader exports of Task and Event: WhatId is the opportunity (its Id is the deal's origin_id)
        "activity": _cols(deal=["WhatId", "What.Name"], subject=["Subject"], type=["TaskSubtype", "EventSubtype",
                          "Type"], due=["ActivityDate", "StartDateTime", "ActivityDateTime"], status=["Status"],
                          done=["IsClosed"], responsible=["Owner.Name", "OwnerId"], description=["Description"],
                          created=["CreatedDate"], done_at=["CompletedDateTime"]),
        # User: Username is an e-mail address in Salesforce
        "user": _cols(name=["Name"], emails=["Email", "Username"], dept=["Department", "Division"],
                      manager=["Manager.Name"], login=["Alias", "CommunityNickname"]),
    },
)

AMOCRM = Preset(
    name="amocrm",
    columns=_cols(
        origin_id=["ID"],
        title=["Название сделки", "Название", "Сделка"],
        amount=["Бюджет", "Бюджет сделки"],
        currency=["Валюта"],
        responsible=["Ответственный"],
        created=["Дата создания сделки", "Дата создания"],
        close_date=["Дата закрытия"],
        stage=["Этап сделки", "Этап", "Статус"],
        pipeline=["Воронка"],
        contact=["Полное имя контакта", "Основной контакт", "Контакт"],
        company=["Компания", "Компания контакта"],
        contact_email=["Рабочий email (контакт)", "Email (контакт)", "Email"],
        contact_phone=["Рабочий телефон (контакт)", "Телефон (контакт)", "Телефон"],
        comment=["Примечание", "Примечания"],
        lost_reason=["Причина отказа"],
        fields__tags=["Теги"],
        fields__created_by_source=["Кем создана сделка"],
    ),
    stages=_stages(
        new=["Неразобранное", "Первичный контакт"],
        preparation=["Переговоры"],
        executing=["Принимают решение"],
        final_invoice=["Согласование договора"],
        won=["Успешно реализовано", "Успешно"],
        lose=["Закрыто и не реализовано", "Не реализовано"],
    ),
    default_pipelines=("Воронка", "Основная воронка", "Основная"),
)

ZOHO = Preset(
    name="zoho",
    # Zoho CRM, Deals module export (Setup > Data Administration > Export): display labels, or
    # API names in an API/Deluge export. Dates like "15 Apr, 2021 00:02:00", money like "$22,700.00"
    columns=_cols(
        origin_id=["Record Id", "Deal Id", "id", "Potential Id"],
        title=["Deal Name", "Deal_Name", "Potential Name", "Potential_Name"],
        responsible=["Deal Owner", "Owner", "Owner.name", "Owner__name", "Potential Owner", "Potential_Owner"],
        amount=["Amount"],
        currency=["Currency"],
        company=["Account Name", "Account_Name", "Account_Name.name", "Account_Name__name"],
        contact=["Contact Name", "Contact_Name", "Contact_Name.name", "Contact_Name__name"],
        stage=["Stage"],
        pipeline=["Pipeline"],
        close_date=["Closing Date", "Closing_Date"],
        created=["Created Time", "Created_Time"],
        probability=["Probability (%)", "Probability"],
        type=["Type"],
        source=["Lead Source", "Lead_Source"],
        comment=["Description"],
        lost_reason=["Reason For Loss", "Reason_For_Loss__s"],
        fields__next_step=["Next Step", "Next_Step"],
        fields__expected_revenue=["Expected Revenue", "Expected_Revenue"],
        fields__campaign_source=["Campaign Source", "Campaign_Source"],
    ),
    # Zoho's standard deal stages onto our five process stages
    stages=_stages(
        new=["Qualification"],
        preparation=["Needs Analysis", "Value Proposition"],
        prepayment_invoice=["Identify Decision Makers", "Id. Decision Makers"],
        executing=["Proposal/Price Quote"],
        final_invoice=["Negotiation/Review"],
        won=["Closed Won"],
        lose=["Closed Lost", "Closed-Lost to Competition", "Closed Lost to Competition"],
    ),
    default_pipelines=("Standard", "Standard (Standard)", "Sales Pipeline"),
    records={  # the Tasks, Accounts and Contacts modules' exports; a task's "Related To" is the deal's name
        "activity": _cols(subject=["Subject"], due=["Due Date", "Due_Date"], status=["Status"],
                          deal=["Related To", "What_Id", "What_Id__name"], contact=["Contact Name", "Who_Id__name"],
                          responsible=["Task Owner", "Owner", "Owner__name"], description=["Description"],
                          created=["Created Time", "Created_Time"], done_at=["Closed Time", "Closed_Time"]),
        "company": _cols(fields__zoho_id=["Record Id"], name=["Account Name", "Account_Name"], phones=["Phone"],
                         responsible=["Account Owner"], created=["Created Time"], fields__website=["Website"],
                         fields__industry=["Industry"]),
        "contact": _cols(fields__zoho_id=["Record Id"], first_name=["First Name", "First_Name"],
                         last_name=["Last Name", "Last_Name"], emails=["Email"], phones=["Phone", "Mobile"],
                         company=["Account Name", "Account_Name", "Account_Name__name"],
                         responsible=["Contact Owner"], created=["Created Time"]),
    },
)

ODOO = Preset(
    name="odoo",
    # Odoo CRM, crm.lead list > Export: "I want to update data (import-compatible export)" gives
    # technical names with external ids (`id` = __export__.crm_lead_12_ab12cd, `stage_id/id` =
    # crm.stage_lead1); the other choice gives the field labels. Notes are multi-line cells
    # (bare LF inside the CRLF records of Odoo's CSV).
    columns=_cols(
        origin_id=["id", "External ID", "ID"],
        title=["name", "Opportunity"],
        company=["partner_id", "partner_id/name", "Customer", "partner_name", "Company Name"],
        contact=["contact_name", "Contact Name"],
        contact_email=["email_from", "Email"],
        contact_phone=["phone", "Phone", "mobile", "Mobile"],
        amount=["expected_revenue", "planned_revenue", "Expected Revenue"],
        currency=["company_currency", "company_currency/name", "Currency"],
        probability=["probability", "Probability"],
        stage=["stage_id", "stage_id/id", "Stage"],
        responsible=["user_id", "user_id/name", "Salesperson"],
        close_date=["date_deadline", "Expected Closing"],
        created=["create_date", "Created on"],
        closed_at=["date_closed", "Closed Date"],
        comment=["description", "Notes", "Internal Notes"],
        lost_reason=["lost_reason_id", "lost_reason", "Lost Reason"],
        source=["source_id", "Source"],
        fields__odoo_partner_id=["partner_id/id"],
        fields__odoo_user_id=["user_id/id"],
        fields__sales_team=["team_id", "team_id/name", "Sales Team"],
        fields__tags=["tag_ids", "tag_ids/name", "Tags"],
        fields__odoo_type=["type", "Type"],
    ),
    # Odoo's default crm.stage records, by name and by external id
    stages=_stages(
        new=["New", "crm.stage_lead1"],
        preparation=["Qualified", "crm.stage_lead2"],
        executing=["Proposition", "crm.stage_lead3"],
        won=["Won", "crm.stage_lead4"],
    ),
    # res.partner and mail.activity exports, by technical name or by label. res.partner holds
    # companies and people alike: export the companies (Is a Company) for --kind company.
    records={
        "company": _cols(fields__odoo_id=["id"], name=["name", "Name", "Display Name"], emails=["email", "Email"],
                         phones=["phone", "Phone", "mobile", "Mobile"], responsible=["user_id", "Salesperson"],
                         created=["create_date", "Created on"], fields__website=["website", "Website"]),
        "contact": _cols(fields__odoo_id=["id"], name=["name", "Name"], emails=["email", "Email"],
                         phones=["phone", "Phone", "mobile", "Mobile"],
                         company=["parent_id", "parent_id/name", "Related Company", "Company Name"],
                         fields__position=["function", "Job Position"], responsible=["user_id", "Salesperson"],
                         created=["create_date", "Created on"]),
        # a planned activity's res_name is its lead's name (the deal's title); a done activity
        # is no longer a mail.activity, so these are open
        "activity": _cols(deal=["res_name", "Document Name"], type=["activity_type_id", "Activity Type"],
                          subject=["summary", "Summary"], due=["date_deadline", "Due Date"],
                          description=["note", "Note"], responsible=["user_id", "Assigned to"],
                          created=["create_date", "Created on"]),
    },
)

SUITECRM = Preset(
    name="suitecrm",
    # SuiteCRM / SugarCRM CE, Opportunities list view > Bulk Action > Export: field names as
    # the header ("name","amount","sales_stage",...), ids are UUIDs, deleted is 0/1
    columns=_cols(
        origin_id=["id"],
        title=["name", "Opportunity Name"],
        amount=["amount", "Opportunity Amount"],
        currency=["currency_name", "Currency"],
        company=["account_name", "Account Name"],
        stage=["sales_stage", "Sales Stage"],
        probability=["probability", "Probability (%)"],
        close_date=["date_closed", "Expected Close Date"],
        created=["date_entered", "Date Created"],
        type=["opportunity_type", "Type"],
        source=["lead_source", "Lead Source"],
        comment=["description", "Description"],
        responsible=["assigned_user_name", "Assigned to"],
        deleted=["deleted"],
        fields__next_step=["next_step", "Next Step"],
        fields__suitecrm_account_id=["account_id"],
        fields__suitecrm_currency_id=["currency_id"],
        fields__suitecrm_assigned_user_id=["assigned_user_id"],
    ),
    stages=SALES_PROCESS_STAGES,
    none_values={"currency_id": ("-99",), "currency": ("-99",)},  # -99: the system's base currency
    # the Accounts, Contacts and Tasks modules' exports, by field name (their vardefs); a task's
    # parent_id is its opportunity's id (the deal's origin_id) when parent_type is Opportunities
    records={
        "company": _cols(fields__suitecrm_id=["id"], name=["name"], phones=["phone_office"],
                         fields__type=["account_type"], fields__industry=["industry"], fields__website=["website"],
                         responsible=["assigned_user_name"], created=["date_entered"]),
        "contact": _cols(fields__suitecrm_id=["id"], first_name=["first_name"], last_name=["last_name"],
                         phones=["phone_work", "phone_mobile"], company=["account_name"],
                         fields__position=["title"], responsible=["assigned_user_name"], created=["date_entered"]),
        "activity": _cols(subject=["name"], status=["status"], due=["date_due"], deal=["parent_id"],
                          description=["description"], responsible=["assigned_user_name"], created=["date_entered"]),
    },
)

VTIGER = Preset(
    name="vtiger",
    # vtiger CRM, Opportunities (Potentials) list > Export: field labels as the header
    columns=_cols(
        origin_id=["Opportunity No", "Potential No", "Record Id"],
        title=["Opportunity Name", "Potential Name"],
        amount=["Amount"],
        company=["Organization Name", "Related To"],
        contact=["Contact Name"],
        stage=["Sales Stage"],
        probability=["Probability", "Probability (%)"],
        close_date=["Expected Close Date"],
        created=["Created Time"],
        type=["Type"],
        source=["Lead Source"],
        comment=["Description"],
        responsible=["Assigned To"],
        lost_reason=["Lost Reason"],
        fields__next_step=["Next Step"],
        fields__forecast_amount=["Forecast Amount"],
    ),
    stages=SALES_PROCESS_STAGES,
    records={  # the Organizations and Contacts lists' exports, by field label (vtiger 7)
        "company": _cols(fields__vtiger_no=["Organization No"], name=["Organization Name"], phones=["Phone"],
                         emails=["Email", "Primary Email"], fields__industry=["Industry"], fields__type=["Type"],
                         fields__website=["Website"], responsible=["Assigned To"], created=["Created Time"]),
        "contact": _cols(fields__vtiger_no=["Contact Id"], first_name=["First Name"], last_name=["Last Name"],
                         emails=["Email", "Primary Email"], phones=["Office Phone", "Mobile"],
                         company=["Organization Name"], fields__position=["Title"], responsible=["Assigned To"],
                         created=["Created Time"]),
    },
)

GENERIC = Preset(name="generic", columns={})  # no --preset: none of the quirks

PRESETS = {p.name: p for p in (BITRIX24, PIPEDRIVE, HUBSPOT, SALESFORCE, AMOCRM, ZOHO, ODOO, SUITECRM, VTIGER)}
