from django.db import models


class Quality(models.IntegerChoices):
    """Quality of a reading, stored as a small integer to keep the hypertable narrow."""

    GOOD = 0, "good"
    UNCERTAIN = 1, "uncertain"
    BAD = 2, "bad"
