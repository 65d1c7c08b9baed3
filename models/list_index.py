"""The lists' sort indexes: (reseller_id, column, id) for each sortable plain column of Companies,
Contacts and Rooms, so a sorted page (and a keyset page deep in the list) is one index range read in
the list's order instead of a sort of every row of the reseller. Migration 0007 creates them.

Contacts by name: ``ix_search_contacts_sort_name`` on the name expression (in ``search_index``, with
the other expression indexes that no model describes). Sorts that no index here serves:
the name sorts of Companies and Rooms (served by the unique (reseller_id, name_key) and the search
index (reseller_id, name_key)), the live counts (an aggregate per company), End date (a coalesce)
and the company name of Contacts and Rooms (a join).
"""
from sqlalchemy import Index

from .schema import Company, Contact, Room

SORT_COLUMNS = {
    Company.__table__: ("type", "status", "branded", "created_at"),
    Contact.__table__: ("email", "state", "created_at"),
    Room.__table__: ("product_type", "status", "created_at"),
}


def index_name(table, column: str) -> str:
    return f"ix_{table.name}_sort_{column}"


INDEXES = [Index(index_name(table, col), table.c.reseller_id, table.c[col], table.c.id)
           for table, cols in SORT_COLUMNS.items() for col in cols]
