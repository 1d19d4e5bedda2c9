from django.core.management.base import BaseCommand

from commerce.roles import role_groups_sync


class Command(BaseCommand):
    help = "Create or update the admin permission group of each staff role (run after migrate)."

    def handle(self, *args, **options):
        for role, count in role_groups_sync().items():
            self.stdout.write(f"{role}: {count} permissions")
