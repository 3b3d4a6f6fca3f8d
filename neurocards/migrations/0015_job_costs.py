"""Issue 22: what each job cost.

- ``jobs.kie_credits``: KIE's credits for every task the job made (the price
  table's, corrected by KIE's own figure where it reports one), and
  ``jobs.kie_cost_source`` ("table" or "kie");
- ``jobs.openai_input_tokens`` / ``jobs.openai_output_tokens``: what writing
  its prompt took.
"""

from peewee import CharField, FloatField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("jobs", "kie_credits", FloatField(default=0)),
        migrator.add_column("jobs", "kie_cost_source", CharField(max_length=8, default="")),
        migrator.add_column("jobs", "openai_input_tokens", IntegerField(default=0)),
        migrator.add_column("jobs", "openai_output_tokens", IntegerField(default=0)),
    )
