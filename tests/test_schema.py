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
    later = sorted(path.stem for path in MIGRATIONS_DIR.glob("0*.py") if path.stem != "0001_initial")
    assert pending_migrations() == later
    # (raw SQL: today's models have columns the first schema lacks)
    database.execute_sql("INSERT INTO users (id, language, balance, blocked, created_at) VALUES (1, 'ru', 2, false, now())")
    database.execute_sql(
        "INSERT INTO jobs (id, user_id, chat_id, status, product_info, photo_path, photo_file_id, language, prompt,"
        " kie_task_id, kie_attempts, callback_secret, result_url, video_path, video_bytes, delivery_attempts,"
        " error_class, error_detail, video_file_id, created_at, updated_at) VALUES ("
        " '6f1f6a9e-2a3b-4c5d-8e9f-0a1b2c3d4e5f', 1, 1, 'done', 'kettle', '', '', 'ru', '', '', 0, '', '', '', 0, 0,"
        " '', '', '', now(), now())"
    )

    # When the schema is upgraded
    assert migrate() == later

    # Then every row is still there
    assert User.get_by_id(1).balance == 2
    job = Job.get()
    assert (job.product_info, job.poll_count, job.moved_by_message, job.send_claim) == ("kettle", 0, "", "")
    database.close()


def test_models_match_the_migrated_schema(database_url):
    db = database.obj
    for model in MODELS:
        columns = {column.name for column in db.get_columns(model._meta.table_name)}
        assert columns == {field.column_name for field in model._meta.sorted_fields}, model
