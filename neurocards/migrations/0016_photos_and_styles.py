"""Issue 21: faithful videos.

- ``job_photos``: a job's photos after its first (the product from other sides),
  each with its upload to KIE; the first stays on ``jobs``, which counts them
  all (``photo_count``);
- ``jobs.style`` / ``users.style``: the style a job was made in, and the one a
  seller last picked; ``jobs.brief``: the idea picked as the prompt's brief;
- ``pending_requests.more_photos``: the other photos of a request kept for a top-up;
- ``jobs.safety_retries``: free retries after KIE refused on its content policy.
"""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField, UUIDField


def up(migrator, db):
    class Job(Model):  # a frozen stand-in for the table referenced
        id = UUIDField(primary_key=True)

        class Meta:
            database = db
            table_name = "jobs"

    class JobPhoto(Model):
        job = ForeignKeyField(Job, on_delete="CASCADE")
        position = IntegerField()
        path = TextField(default="")
        file_id = TextField(default="")
        kie_image_url = TextField(default="")
        kie_image_expires_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "job_photos"
            indexes = ((("job", "position"), True),)

    db.create_tables([JobPhoto])
    migrator.migrate(
        migrator.add_column("jobs", "photo_count", IntegerField(default=1)),
        migrator.add_column("jobs", "style", CharField(max_length=16, default="")),
        migrator.add_column("jobs", "brief", TextField(default="")),
        migrator.add_column("jobs", "safety_retries", IntegerField(default=0)),
        migrator.add_column("users", "style", CharField(max_length=16, default="")),
        migrator.add_column("pending_requests", "more_photos", TextField(default="")),
    )
