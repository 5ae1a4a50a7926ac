"""What `dealcli import --preset NAME` knows about other CRMs' deal exports: their column
labels (in every language we have seen them in), their default stage names mapped to the stages
of dealcli's default pipeline, and their quirks. `--map` and `--stage-map` override a preset.

Targets are deal fields (title, amount, ...), the import-only targets of importing.TARGETS
(company, contact, product, status, won, closed, deleted, ...), or `fields.NAME` for a custom
field the preset keeps (for example the Salesforce account id)."""

from __future__ import annotations

from dataclasses import dataclass, field


def key(text: str) -> str:
    return " ".join(str(text).split()).casefold()


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
    date_formats: tuple = ()  # strptime formats tried before the general date reader
    zero_is_none: tuple = ()  # key()s of id columns where 0 means "none"

    def target(self, column: str) -> str | None:
        return self.columns.get(key(column))

    def stage(self, value: str) -> str | None:
        return self.stages.get(key(value))


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
    zero_is_none=("company_id", "contact_id", "assigned_by_id", "category_id", "lead_id", "quote_id"),
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
        lost_reason=["Loss_Reason__c", "Loss Reason", "Closed Lost Reason"],
        fields__salesforce_account_id=["AccountId", "Account ID"],
        fields__next_step=["NextStep", "Next Step"],
        fields__forecast_category=["ForecastCategoryName", "Forecast Category"],
    ),
    # the standard Salesforce sales process: ten stages onto our five process stages
    stages=_stages(
        new=["Prospecting", "Qualification"],
        preparation=["Needs Analysis", "Value Proposition"],
        prepayment_invoice=["Id. Decision Makers", "Perception Analysis"],
        executing=["Proposal/Price Quote"],
        final_invoice=["Negotiation/Review"],
        won=["Closed Won"],
        lose=["Closed Lost"],
    ),
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

PRESETS = {p.name: p for p in (BITRIX24, PIPEDRIVE, HUBSPOT, SALESFORCE, AMOCRM)}
