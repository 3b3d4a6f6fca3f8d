from playhouse.migrations import Runner

from neurocards.db import database
from neurocards.models import MODELS, Job, User
from neurocards.schema import MIGRATIONS_DIR, migrate, pending_migrations


def test_migrate_is_safe_to_run_twice(database_url):
    assert migrate() == []
    assert pending_migrations() == []
    assert all(model.table_exists() for model in MODELS)


def test_an_upgrade_keeps_every_row(postgres_server):
    from neurocards.db import init_database

    # Given a database at the first schema version, holding rows
    init_database(postgres_server.create_database())
    Runner(database.obj, directory=str(MIGRATIONS_DIR)).up("0001_initial")
    assert pending_migrations() == ["0002_job_and_ledger_indexes"]
    User.create(id=1, balance=2)
    Job.create(user=1, chat_id=1, product_info="kettle")

    # When the schema is upgraded
    assert migrate() == ["0002_job_and_ledger_indexes"]

    # Then every row is still there
    assert User.get_by_id(1).balance == 2
    assert Job.get().product_info == "kettle"
    database.close()


def test_models_match_the_migrated_schema(database_url):
    db = database.obj
    for model in MODELS:
        columns = {column.name for column in db.get_columns(model._meta.table_name)}
        assert columns == {field.column_name for field in model._meta.sorted_fields}, model
