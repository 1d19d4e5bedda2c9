from django.db import migrations


def backfill_identities(apps, schema_editor):
    """Give every customer created before identities existed a primary identity for its e-mail, phone and external id."""
    Customer = apps.get_model("customers", "Customer")
    CustomerIdentity = apps.get_model("customers", "CustomerIdentity")
    for customer in Customer.objects.filter(identities__isnull=True).iterator():
        for kind, value in (("email", customer.email), ("phone", customer.phone), ("external", customer.external_id)):
            if value:
                CustomerIdentity.objects.get_or_create(kind=kind, value=value, defaults={"customer": customer, "is_primary": True})


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0002_identities_addresses_consent_wish_lists"),
    ]

    operations = [
        migrations.RunPython(backfill_identities, migrations.RunPython.noop),
    ]
