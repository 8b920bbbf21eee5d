"""The bundled demo org: its describe JSON and deterministic, realistic records for it.

``generate_demo_data`` returns ``{"User": [...], "Account": [...], ...}`` in the data-file shape (values as
the REST API writes them: dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDTHH:MM:SS.fffZ`` in UTC, booleans,
numbers, multi-select picklists ``A;B``). Every record carries its own Id and every field of its object,
so references between objects are consistent. The same seed gives the same records, Ids and timestamps;
nothing depends on the wall clock (records are created across 2023-2025 and modified up to mid-2026).

Scale 1 is 1,000 Accounts with 3,000 Contacts, 1,000 Opportunities, 500 Cases, 200 Projects and 20 Users;
children grow in proportion to Accounts. The generator draws from precomputed pools with one random
number per value, so 100,000 Accounts and their children take seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import ids

# The generator draws every value from one seeded stream of floats in [0, 1).
Random = Callable[[], float]

DEMO_SCHEMA_PATH = Path(__file__).parent / "data" / "demo_schema.json"
DEFAULT_SEED = 20240131
ACCOUNTS_AT_SCALE_1 = 1000

KEY_PREFIXES = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Case": "500",
    "Project__c": "a0X",
}

FIRST_DAY = dt.date(2023, 1, 1)
CREATED_DAYS = 3 * 365  # records are created across 2023-2025
LAST_DAY = dt.date(2026, 6, 30)  # nothing is modified after this
DAYS = [(FIRST_DAY + dt.timedelta(days=n)).isoformat() for n in range((LAST_DAY - FIRST_DAY).days + 1)]
LAST_DAY_INDEX = len(DAYS) - 1
DAYS_T = [day + "T" for day in DAYS]
# Every second of 07:00-17:00 UTC, the times records are created and edited at.
OFFICE_TIMES = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.000Z" for s in range(7 * 3600, 17 * 3600)]

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley",
    "Andrew", "Emily", "Kenji", "Priya", "Wei", "Fatima", "Olga", "Liam", "Noah", "Emma", "Olivia",
    "Sophia", "Mateo", "Aisha", "Rose", "Sean", "Siobhán", "Zoë", "José", "François", "Chloé", "Renée",
    "Björn", "Søren", "Łukasz", "Ömer", "Agnès", "Jürgen", "Nuño", "Dmitri", "Ana", "Lucía",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill",
    "Tanaka", "Patel", "Kim", "Chen", "Kowalski", "Ivanova", "O'Brien", "O'Neil", "D'Angelo",
    "Müller", "Schröder", "Åberg", "Núñez", "Castañeda", "Dubois", "Lefèvre", "van der Berg",
    "McAllister", "Smith-Jones", "St. James", "Øvergaard", "Çelik",
]  # fmt: skip
COMPANY_STARTS = [
    "Acme", "Global", "United", "Northwind", "Blue Ridge", "Pinnacle", "Summit", "Evergreen", "Redwood",
    "Silverline", "Granite", "Horizon", "Atlas", "Beacon", "Cascade", "Frontier", "Harbor", "Ironwood",
    "Juniper", "Keystone", "Lakeside", "Meridian", "Nimbus", "Orion", "Prairie", "Quantum", "Riverbend",
    "Sterling", "Tidewater", "Union", "Vertex", "Westfield", "Yellowstone", "Zenith", "Edge", "Burlington",
    "Pyramid", "Dickenson", "Grand", "Express", "Crystal", "Falcon", "Coastal", "Heritage", "Liberty",
    "Maple", "Oakridge", "Phoenix", "Sapphire", "Trident", "Müller", "Zoë's", "O'Reilly", "Señor",
    "Björk", "Château",
]  # fmt: skip
COMPANY_CORES = [
    "Systems", "Logistics", "Communications", "Holdings", "Industries", "Energy", "Foods", "Health",
    "Analytics", "Software", "Manufacturing", "Partners", "Consulting", "Media", "Pharmaceuticals",
    "Airlines", "Motors", "Textiles", "Capital", "Insurance", "Robotics", "Labs", "Networks",
    "Hospitality", "Construction", "Outfitters", "Dynamics", "Solutions", "Biotech", "Freight",
]  # fmt: skip
COMPANY_SUFFIXES = ["Inc.", "LLC", "Corp.", "Ltd.", "GmbH", "S.A.", "& Co.", "Group", "plc", "AG", ""]
# Names that exercise quoting and escaping everywhere a value is printed; the first Accounts get them.
QUIRKY_ACCOUNT_NAMES = [
    'Acme "Quoted" Ltd.',
    "O'Brien & Sons",
    "Zoë's Café",
    "Müller GmbH",
    "Back\\Slash Systems",
    "100% Natural_Foods",
    "Smith, Jones & O'Neil LLP",
    "Semi;Colon | Pipe Co.",
    "東京 Trading K.K.",
    "Ünïcödé Ëxpörts",
]
CITIES = [
    ("San Francisco", "CA", "USA", "941"), ("New York", "NY", "USA", "100"), ("Chicago", "IL", "USA", "606"),
    ("Austin", "TX", "USA", "787"), ("Seattle", "WA", "USA", "981"), ("Boston", "MA", "USA", "021"),
    ("Denver", "CO", "USA", "802"), ("Atlanta", "GA", "USA", "303"), ("Miami", "FL", "USA", "331"),
    ("Portland", "OR", "USA", "972"), ("Toronto", "ON", "Canada", "M5V"), ("Montréal", "QC", "Canada", "H2X"),
    ("London", "England", "United Kingdom", "EC1"), ("Dublin", "Leinster", "Ireland", "D02"),
    ("München", "Bayern", "Germany", "803"), ("Köln", "Nordrhein-Westfalen", "Germany", "506"),
    ("Zürich", "ZH", "Switzerland", "80"), ("Paris", "Île-de-France", "France", "750"),
    ("São Paulo", "SP", "Brazil", "010"), ("Ciudad de México", "CDMX", "Mexico", "060"),
    ("Tokyo", "Tokyo", "Japan", "100"), ("Sydney", "NSW", "Australia", "20"),
    ("Singapore", None, "Singapore", "01"), ("Kraków", "Małopolskie", "Poland", "31"),
    ("Reykjavík", None, "Iceland", "10"),
]  # fmt: skip
STREETS = ["Main St", "Market St", "Oak Ave", "Maple Dr", "Broadway", "Elm St", "Park Ave", "1st Ave",
           "Rue de Rivoli", "Hauptstraße", "King's Rd", "Via Roma"]  # fmt: skip
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other"]  # fmt: skip
INDUSTRIES = ["Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications",
              "Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering",
              "Entertainment", "Environmental", "Finance", "Food & Beverage", "Government", "Healthcare",
              "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media", "Not For Profit",
              "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
              "Utilities", "Other"]  # fmt: skip
OWNERSHIPS = ["Public", "Private", "Subsidiary", "Other"]
RATINGS = ["Hot", "Warm", "Cold"]
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]
TITLES = ["CEO", "CFO", "CTO", "VP, Sales", "VP, Marketing", "Director of Operations", "Head of IT",
          "Procurement Manager", "Account Manager", "Software Engineer", "Buyer", "Office Manager",
          "SVP, Technology", "Regional Director", "Analyst", "Chef d'équipe"]  # fmt: skip
DEPARTMENTS = ["Sales", "Marketing", "Finance", "Engineering", "Operations", "IT", "Procurement",
               "Customer Success", "Legal", "R&D"]  # fmt: skip
# The demo sales team (user index: first name, last name, username, title, index of their manager).
SALES_TEAM = {
    1: ("Dana", "Whitfield", "manager@localorg.test", "Sales Manager", 0),
    2: ("Eli", "Navarro", "rep.east@localorg.test", "Account Executive, East", 1),
    3: ("Wendy", "Park", "rep.west@localorg.test", "Account Executive, West", 0),
}
USER_TITLES = ["Account Executive", "Sales Rep", "Support Agent", "Manager"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "example.org"]
# Stage, probability, forecast category (API value), forecast category name, closed, won.
STAGES = [
    ("Prospecting", 10, "Pipeline", "Pipeline", False, False),
    ("Qualification", 10, "Pipeline", "Pipeline", False, False),
    ("Needs Analysis", 20, "Pipeline", "Pipeline", False, False),
    ("Value Proposition", 50, "Pipeline", "Pipeline", False, False),
    ("Id. Decision Makers", 60, "Pipeline", "Pipeline", False, False),
    ("Perception Analysis", 70, "Pipeline", "Pipeline", False, False),
    ("Proposal/Price Quote", 75, "BestCase", "Best Case", False, False),
    ("Negotiation/Review", 90, "Forecast", "Commit", False, False),
    ("Closed Won", 100, "Closed", "Closed", True, True),
    ("Closed Lost", 0, "Omitted", "Omitted", True, False),
]
OPPORTUNITY_TYPES = ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                     "Existing Customer - Downgrade", "New Customer"]  # fmt: skip
PRODUCTS = ["Platform License", "Support Renewal", "Implementation", "Expansion", "Pilot", "Hardware Refresh",
            "Training", "Data Migration", "Managed Services", "Add-on Seats"]  # fmt: skip
NEXT_STEPS = ["Send proposal", "Schedule demo", "Legal review", "Follow up with CFO",
              "Security questionnaire"]  # fmt: skip
CASE_TYPES = ["Mechanical", "Electrical", "Electronic", "Structural", "Other"]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed", "Closed", "Closed"]
CASE_REASONS = ["Installation", "Equipment Complexity", "Performance", "Breakdown", "Equipment Design",
                "Feedback", "Other"]  # fmt: skip
CASE_ORIGINS = ["Phone", "Email", "Web"]
PRIORITIES = ["High", "Medium", "Medium", "Low"]
CASE_SUBJECTS = ["Cannot log in", "Invoice discrepancy", "Device won't power on", "Slow performance",
                 "Feature request: \"dark mode\"", "Password reset", "Shipment delayed", "Data export fails",
                 "Error 500 on checkout", "Généralités: question sur la facture", "Can't print 50% of pages",
                 "Integration_sync stuck"]  # fmt: skip
PROJECT_STATUSES = ["Planned", "In Progress", "In Progress", "On Hold", "Completed", "Cancelled"]
PROJECT_TAGS = ["Cloud", "Data", "Integration", "Mobile", "Security", "Analytics", "AI"]
PROJECT_WORDS = ["Migration", "Rollout", "Upgrade", "Discovery", "Modernization", "Onboarding", "Audit",
                 "Redesign", "Consolidation", "Launch"]  # fmt: skip
DESCRIPTION_SENTENCES = [
    "Long-standing customer with several regional offices.",
    "Prefers e-mail over phone; contact before 10:00 local time.",
    'Asked for the "enterprise" tier pricing.',
    "Renewal negotiations stalled in Q3 — follow up after the board meeting.",
    "Key stakeholder: the customer's CIO (ex-Müller & Partner).",
    "Uses our API for nightly batch syncs; peak load on month end.",
    "Über-important account 🚀 for the EMEA team.",
    "Multi-line notes:\n- onsite visit done\n- contract signed",
]


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits only: ``Zoë O'Brien`` → ``zoeobrien`` (for e-mails and URLs)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in folded.lower() if c.isalnum())


FOLDED_NAMES = {name: ascii_fold(name) for name in FIRST_NAMES + LAST_NAMES}


def record_counts(accounts: int) -> dict[str, int]:
    """How many records of each object the demo org has for a given number of Accounts."""
    return {
        "User": max(5, round(accounts / 50)),
        "Account": accounts,
        "Contact": 3 * accounts,
        "Opportunity": accounts,
        "Case": max(1, accounts // 2),
        "Project__c": max(1, accounts // 5),
    }


def generate_demo_data(
    scale: float = 1,
    seed: int = DEFAULT_SEED,
    *,
    accounts: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The demo org's records: ``accounts`` Accounts (default ``1000 * scale``) and children in proportion.

    ``progress(n)`` is called after each object with the number of its records generated."""
    if accounts is None:
        accounts = max(1, round(ACCOUNTS_AT_SCALE_1 * scale))
    if accounts < 1:
        raise ValueError("the demo org needs at least one Account")
    counts = record_counts(accounts)
    rand = random.Random(seed).random

    def made(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if progress is not None:
            progress(len(records))
        return records

    ids_of = {name: _make_ids(name, count) for name, count in counts.items()}
    users = made(_users(rand, ids_of["User"]))
    account_records = made(_accounts(rand, ids_of, users))
    contacts = made(_contacts(rand, ids_of, account_records))
    return {
        "User": users,
        "Account": account_records,
        "Contact": contacts,
        "Opportunity": made(_opportunities(rand, ids_of, account_records)),
        "Case": made(_cases(rand, ids_of, contacts)),
        "Project__c": made(_projects(rand, ids_of, account_records)),
    }


def demo_work(accounts: int) -> int:
    """The units of work ``load_demo`` reports through ``progress``: every record generated, then stored."""
    return 2 * sum(record_counts(accounts).values())


def load_demo(
    store: Any,
    accounts: int = ACCOUNTS_AT_SCALE_1,
    seed: int = DEFAULT_SEED,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate the demo records and bulk-load them into ``store`` (a ``Store`` built from the demo schema).

    Returns the number of records loaded per object. ``progress(n)`` is called as records are generated
    and as they are stored, ``demo_work(accounts)`` units in all (a caller shows a progress bar with it).
    """
    data = generate_demo_data(accounts=accounts, seed=seed, progress=progress)
    store.load_data(data, progress=progress)
    return {name: len(records) for name, records in data.items()}


def _make_ids(object_name: str, count: int) -> list[str]:
    """``ids.make_id(prefix, n)`` for n = 1..count, built digit by digit (make_id per record is slow).

    Sequence numbers below 62**5 leave the first five digits at zero, so the Id is ``prefix 00 00000`` plus
    five digits, and the suffix's first two letters are fixed; the third comes from the five digits.
    """
    prefix = KEY_PREFIXES[object_name]
    if count >= 62**5:
        return [ids.make_id(prefix, n) for n in range(1, count + 1)]
    head = prefix + ids.INSTANCE + "00000"
    fixed_suffix = ids.checksum_suffix(head)[:2]
    upper_bits = {c: 1 if "A" <= c <= "Z" else 0 for c in ids.BASE62}
    pairs = [a + b for a in ids.BASE62 for b in ids.BASE62]
    pair_bits = [upper_bits[p[0]] | upper_bits[p[1]] << 1 for p in pairs]
    alphabet = ids.SUFFIX_ALPHABET
    result: list[str] = []
    for high in range(count // 3844 + 1):
        # The five digits: one high digit triple, then a pair; the pair is the fastest-moving part.
        triple = ids.base62(high, 3)
        triple_bits = upper_bits[triple[0]] | upper_bits[triple[1]] << 1 | upper_bits[triple[2]] << 2
        start = head + triple
        for pair, bits in zip(pairs, pair_bits, strict=True):
            result.append(start + pair + fixed_suffix + alphabet[triple_bits | bits << 3])
    return result[1 : count + 1]


def _timestamps(rand: Random, index: int, count: int, max_edit_days: int = 180) -> tuple[str, str, int]:
    """CreatedDate, LastModifiedDate and the created day's index; created dates grow with ``index``."""
    created_day = index * CREATED_DAYS // count
    modified_day = min(created_day + int(rand() * max_edit_days), LAST_DAY_INDEX)
    created = DAYS_T[created_day] + OFFICE_TIMES[int(rand() * len(OFFICE_TIMES))]
    if modified_day == created_day:
        return created, created, created_day
    return created, DAYS_T[modified_day] + OFFICE_TIMES[int(rand() * len(OFFICE_TIMES))], created_day


def _pick(rand: Random, pool: list) -> Any:
    return pool[int(rand() * len(pool))]


def _maybe(rand: Random, pool: list, null_share: float) -> Any:
    """A value from ``pool``, or None for about ``null_share`` of the calls."""
    r = rand()
    if r < null_share:
        return None
    return pool[int((r - null_share) / (1 - null_share) * len(pool))]


def _phone(rand: Random) -> str:
    number = int(rand() * 100_000_000)
    return f"({200 + number % 800}) 555-{number // 800 % 10000:04d}"


def _users(rand: Random, user_ids: list[str]) -> list[dict]:
    # User 1 is the local org's API user (LocalOrgConfig's default username and user Id); users 2-4 are the
    # sales team of the demo security model (data/demo_security.toml).
    users = []
    for index, user_id in enumerate(user_ids):
        if index == 0:
            first, last, username = "Admin", "User", "admin@localorg.test"
        else:
            first, last = _pick(rand, FIRST_NAMES), _pick(rand, LAST_NAMES)
            username = f"{ascii_fold(first)}.{ascii_fold(last)}{index}@demo.localorg.test"
        team_member = SALES_TEAM.get(index)
        if team_member is not None:
            first, last, username, _title, _manager = team_member
        created, modified, _ = _timestamps(rand, index, len(user_ids) * 50)
        users.append(
            {
                "Id": user_id,
                "Username": username,
                "LastName": last,
                "FirstName": first,
                "Name": f"{first} {last}",
                "CompanyName": "Local Org Demo",
                "Division": _maybe(rand, ["Americas", "EMEA", "APAC"], 0.3),
                "Department": _pick(rand, ["Sales", "Support", "Services", "Management"]),
                "Title": "System Administrator" if index == 0 else _pick(rand, USER_TITLES),
                "Email": username,
                "Phone": _phone(rand),
                "Alias": (ascii_fold(first)[:1] + ascii_fold(last))[:8] or f"user{index}",
                "CommunityNickname": f"{ascii_fold(first)}{index}",
                "IsActive": index == 0 or rand() < 0.9 or team_member is not None,
                "TimeZoneSidKey": _pick(
                    rand,
                    [
                        "America/Los_Angeles",
                        "America/New_York",
                        "Europe/London",
                        "Europe/Berlin",
                        "Asia/Tokyo",
                    ],
                ),
                "LocaleSidKey": _pick(rand, ["en_US", "en_GB", "de_DE", "fr_FR", "ja_JP"]),
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "ManagerId": None if index == 0 else user_ids[int(rand() * min(index, 4))],
                "LastLoginDate": modified,
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
        if team_member is not None:
            users[-1].update(Title=team_member[3], ManagerId=user_ids[team_member[4]])
    return users


def _company_names(rand: Random, count: int) -> list[str]:
    names = []
    for index in range(count):
        if index < len(QUIRKY_ACCOUNT_NAMES):
            names.append(QUIRKY_ACCOUNT_NAMES[index])
            continue
        suffix = _pick(rand, COMPANY_SUFFIXES)
        name = f"{_pick(rand, COMPANY_STARTS)} {_pick(rand, COMPANY_CORES)}"
        names.append(f"{name} {suffix}" if suffix else name)
    return names


def _accounts(rand: Random, ids_of: dict[str, list[str]], users: list[dict]) -> list[dict]:
    account_ids = ids_of["Account"]
    owner_ids = [u["Id"] for u in users if u["IsActive"]]
    count = len(account_ids)
    names = _company_names(rand, count)
    domains: dict[str, str] = {}
    records = []
    for index, account_id in enumerate(account_ids):
        name = names[index]
        domain = domains.get(name)
        if domain is None:
            domain = domains[name] = (ascii_fold(name.split(" ")[0]) or "company") + ".example.com"
        city, state, country, postal = _pick(rand, CITIES)
        postal_code = f"{postal}{int(rand() * 100):02d}"
        street = f"{1 + int(rand() * 9999)} {_pick(rand, STREETS)}"
        created, modified, _ = _timestamps(rand, index, count)
        shipping_same = rand() < 0.7
        employees = int(10 ** (1 + rand() * 4.5))
        r = rand()
        records.append(
            {
                "Id": account_id,
                # Parents come earlier in Id order, so there are no cycles.
                "ParentId": account_ids[int(r * 10 * index)] if r < 0.1 and index > 0 else None,
                "Name": name,
                "Type": _maybe(rand, ACCOUNT_TYPES, 0.15),
                "BillingStreet": street,
                "BillingCity": city,
                "BillingState": state,
                "BillingPostalCode": postal_code,
                "BillingCountry": country,
                "ShippingStreet": street if shipping_same else None,
                "ShippingCity": city if shipping_same else None,
                "ShippingState": state if shipping_same else None,
                "ShippingPostalCode": postal_code if shipping_same else None,
                "ShippingCountry": country if shipping_same else None,
                "Phone": _phone(rand),
                "Fax": _phone(rand) if rand() < 0.2 else None,
                "AccountNumber": f"CD{100000 + index}",
                "Website": f"https://www.{domain}" if rand() < 0.85 else None,
                "Sic": str(1000 + int(rand() * 8999)) if rand() < 0.4 else None,
                "Industry": _maybe(rand, INDUSTRIES, 0.1),
                "AnnualRevenue": float(employees * (50_000 + int(rand() * 250) * 1000)),
                "NumberOfEmployees": employees if rand() < 0.9 else None,
                "Ownership": _maybe(rand, OWNERSHIPS, 0.5),
                "TickerSymbol": ascii_fold(name)[:4].upper() if rand() < 0.05 else None,
                "Description": _description(rand, 0.8),
                "Rating": _maybe(rand, RATINGS, 0.4),
                "Site": _maybe(rand, ["Headquarters", "Branch", "Warehouse"], 0.7),
                "OwnerId": _pick(rand, owner_ids),
                "External_Id__c": f"ACC-{index + 1:07d}",
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
    return records


def _description(rand: Random, null_share: float) -> str | None:
    if rand() < null_share:
        return None
    first = int(rand() * len(DESCRIPTION_SENTENCES))
    length = 1 + int(rand() * 3)
    return " ".join(DESCRIPTION_SENTENCES[(first + k) % len(DESCRIPTION_SENTENCES)] for k in range(length))


def _with_nulls(pool: list, null_share: float) -> list:
    """``pool`` plus enough Nones that a uniform pick gives None about ``null_share`` of the time."""
    copies = 10
    return [None] * round(null_share * copies * len(pool) / (1 - null_share)) + pool * copies


def _contacts(rand: Random, ids_of: dict[str, list[str]], accounts: list[dict]) -> list[dict]:
    contact_ids = ids_of["Contact"]
    count = len(contact_ids)
    default_owner = ids_of["User"][0]
    first_names = _with_nulls(FIRST_NAMES, 0.03)
    salutations = _with_nulls(SALUTATIONS, 0.5)
    titles = _with_nulls(TITLES, 0.2)
    departments = _with_nulls(DEPARTMENTS, 0.3)
    lead_sources = _with_nulls(LEAD_SOURCES, 0.2)
    # 30% without a birthdate; the rest spread over 1950-2003.
    birthdates = [(dt.date(1950, 1, 1) + dt.timedelta(days=n)).isoformat() for n in range(0, 19716, 7)]
    birthdates += [None] * (len(birthdates) * 3 // 7)
    records = []
    for index, contact_id in enumerate(contact_ids):
        # About 5% are private contacts without an Account.
        account = None if rand() < 0.05 else accounts[int(rand() * len(accounts))]
        first = _pick(rand, first_names)
        last = _pick(rand, LAST_NAMES)
        if rand() < 0.15:
            email = None
        else:
            domain = account["Website"][12:] if account and account["Website"] else _pick(rand, FREE_MAIL)
            local = f"{FOLDED_NAMES[first]}.{FOLDED_NAMES[last]}" if first else FOLDED_NAMES[last]
            email = f"{local}{index + 1}@{domain}"
        created, modified, _ = _timestamps(rand, index, count)
        if rand() < 0.6:
            city, state, country, postal = _pick(rand, CITIES)
            street = f"{1 + int(rand() * 999)} {_pick(rand, STREETS)}"
            postal_code = f"{postal}{int(rand() * 100):02d}"
        else:
            city = state = country = street = postal_code = None
        records.append(
            {
                "Id": contact_id,
                "AccountId": account["Id"] if account else None,
                "LastName": last,
                "FirstName": first,
                "Salutation": _pick(rand, salutations),
                "Name": f"{first} {last}" if first else last,
                "MailingStreet": street,
                "MailingCity": city,
                "MailingState": state,
                "MailingPostalCode": postal_code,
                "MailingCountry": country,
                "Phone": _phone(rand) if rand() < 0.8 else None,
                "MobilePhone": _phone(rand) if rand() < 0.4 else None,
                "Email": email,
                "Title": _pick(rand, titles),
                "Department": _pick(rand, departments),
                "LeadSource": _pick(rand, lead_sources),
                "Birthdate": _pick(rand, birthdates),
                "Description": _description(rand, 0.9),
                "OwnerId": account["OwnerId"] if account else default_owner,
                "HasOptedOutOfEmail": rand() < 0.1,
                "DoNotCall": rand() < 0.05,
                "External_Id__c": f"CON-{index + 1:07d}",
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
    return records


def _opportunities(rand: Random, ids_of: dict[str, list[str]], accounts: list[dict]) -> list[dict]:
    opportunity_ids = ids_of["Opportunity"]
    count = len(opportunity_ids)
    records = []
    for index, opportunity_id in enumerate(opportunity_ids):
        account = accounts[int(rand() * len(accounts))] if rand() < 0.97 else None
        stage, probability, forecast, forecast_name, closed, won = _pick(rand, STAGES)
        created, modified, created_day = _timestamps(rand, index, count)
        close_day = min(created_day + 14 + int(rand() * 300), LAST_DAY_INDEX)
        close_date = DAYS[close_day]
        amount = round(1000 + rand() * 250_000, 2) if rand() < 0.92 else None
        product = _pick(rand, PRODUCTS)
        quantity = float(1 + int(rand() * 500))
        records.append(
            {
                "Id": opportunity_id,
                "AccountId": account["Id"] if account else None,
                "IsPrivate": False,
                "Name": f"{account['Name'] if account else 'Direct'} - {product}"[:120],
                "Description": _description(rand, 0.85),
                "StageName": stage,
                "Amount": amount,
                "Probability": float(probability),
                "ExpectedRevenue": round(amount * probability / 100, 2) if amount is not None else None,
                "TotalOpportunityQuantity": quantity if rand() < 0.3 else None,
                "CloseDate": close_date,
                "Type": _maybe(rand, OPPORTUNITY_TYPES, 0.2),
                "NextStep": None if closed else _maybe(rand, NEXT_STEPS, 0.4),
                "LeadSource": _maybe(rand, LEAD_SOURCES, 0.25),
                "IsClosed": closed,
                "IsWon": won,
                "ForecastCategory": forecast,
                "ForecastCategoryName": forecast_name,
                "OwnerId": account["OwnerId"] if account else ids_of["User"][0],
                "FiscalQuarter": (int(close_date[5:7]) - 1) // 3 + 1,
                "FiscalYear": int(close_date[:4]),
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
    return records


def _cases(rand: Random, ids_of: dict[str, list[str]], contacts: list[dict]) -> list[dict]:
    case_ids = ids_of["Case"]
    user_ids = ids_of["User"]
    count = len(case_ids)
    records = []
    for index, case_id in enumerate(case_ids):
        contact = contacts[int(rand() * len(contacts))] if rand() < 0.9 else None
        status = _pick(rand, CASE_STATUSES)
        created, modified, created_day = _timestamps(rand, index, count, max_edit_days=30)
        closed = status == "Closed"
        closed_date = None
        if closed:
            closed_date = modified if modified != created else created[:11] + "23:59:59.000Z"
        web = rand() < 0.2
        records.append(
            {
                "Id": case_id,
                "CaseNumber": f"{index + 1:08d}",
                "ContactId": contact["Id"] if contact else None,
                "AccountId": contact["AccountId"] if contact else None,
                "SuppliedName": contact["Name"] if web and contact else None,
                "SuppliedEmail": contact["Email"] if web and contact else None,
                "SuppliedPhone": None,
                "Type": _maybe(rand, CASE_TYPES, 0.3),
                "Status": status,
                "Reason": _maybe(rand, CASE_REASONS, 0.4),
                "Origin": "Web" if web else _pick(rand, CASE_ORIGINS),
                "Subject": _pick(rand, CASE_SUBJECTS),
                "Priority": _pick(rand, PRIORITIES),
                "Description": _description(rand, 0.5),
                "IsClosed": closed,
                "ClosedDate": closed_date,
                "IsEscalated": status == "Escalated",
                "OwnerId": user_ids[int(rand() * len(user_ids))],
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
    return records


def _projects(rand: Random, ids_of: dict[str, list[str]], accounts: list[dict]) -> list[dict]:
    project_ids = ids_of["Project__c"]
    count = len(project_ids)
    records = []
    for index, project_id in enumerate(project_ids):
        account = accounts[int(rand() * len(accounts))] if rand() < 0.9 else None
        created, modified, created_day = _timestamps(rand, index, count)
        start_day = min(created_day + int(rand() * 60), LAST_DAY_INDEX)
        tag_bits = int(rand() * 128)
        tags = ";".join(tag for bit, tag in enumerate(PROJECT_TAGS) if tag_bits >> bit & 1) or None
        word = _pick(rand, PROJECT_WORDS)
        seconds = 8 * 3600 + int(rand() * 8) * 1800
        has_contact = rand() < 0.7
        has_site = rand() < 0.5
        records.append(
            {
                "Id": project_id,
                "OwnerId": account["OwnerId"] if account else ids_of["User"][0],
                "Name": f"{account['Name'][:60] if account else 'Internal'} {word}",
                "Account__c": account["Id"] if account else None,
                "Project_Code__c": f"PRJ-{index + 1:06d}",
                "Summary__c": f"{word} of the customer's {_pick(rand, PROJECT_TAGS)} stack",
                "Description__c": _description(rand, 0.4),
                "Status__c": _pick(rand, PROJECT_STATUSES),
                "Tags__c": tags,
                "Budget__c": round(5000 + rand() * 995_000, 2) if rand() < 0.9 else None,
                "Allocation__c": round(rand() * 100, 2) if rand() < 0.8 else None,
                "Estimated_Hours__c": round(rand() * 20_000, 2),
                "Team_Size__c": float(1 + int(rand() * 40)),
                "AnyScore__c": round(rand() * 100, 1) if rand() < 0.75 else None,
                "Is_Billable__c": rand() < 0.7,
                "True_Up__c": rand() < 0.2,
                "Start_Date__c": DAYS[start_day],
                "False_Start__c": DAYS[max(start_day - 7, 0)] if rand() < 0.1 else None,
                "Kickoff__c": f"{DAYS[start_day]}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:00.000Z",
                "Contact_Email__c": f"pm{index + 1}@{_pick(rand, FREE_MAIL)}" if has_contact else None,
                "Contact_Phone__c": _phone(rand) if has_contact else None,
                "Project_Site__c": f"https://projects.example.com/p/{index + 1}" if has_site else None,
                "Nullable__c": "set" if rand() < 0.5 else None,
                "Alldone__c": "All done: signed off by the customer" if rand() < 0.2 else None,
                "IsDeleted": False,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
        )
    return records
