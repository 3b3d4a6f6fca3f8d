"""Claims get columns of their own (issue 15): ``kie_task_id`` holds only KIE's
task id, and the message that moved a job (``moved_by_message``, formerly
``step_token``) is no longer overloaded with "<stage>:<token>" claims.

A claim in flight at upgrade time is carried over: a send or failure-notice
claim to its column, a submit claim dropped (its message's retry takes it again).
"""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.rename_column("jobs", "step_token", "moved_by_message"),
        migrator.add_column("jobs", "submit_claim", CharField(max_length=64, default="")),
        migrator.add_column("jobs", "send_claim", CharField(max_length=64, default="")),
        migrator.add_column("jobs", "notice_claim", CharField(max_length=64, default="")),
    )
    param = db.param  # "?" on SQLite, "%s" on PostgreSQL
    db.execute_sql(f"UPDATE jobs SET kie_task_id = '' WHERE kie_task_id LIKE {param}", ("claim:%",))
    for stage, column in (("deliver", "send_claim"), ("notify", "notice_claim")):
        prefix = f"{stage}:"
        db.execute_sql(
            f"UPDATE jobs SET {column} = substr(moved_by_message, {len(prefix) + 1}), moved_by_message = ''"
            f" WHERE moved_by_message LIKE {param}",
            (prefix + "%",),
        )
