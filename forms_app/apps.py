from __future__ import annotations

from django.apps import AppConfig


class FormsAppConfig(AppConfig):
    name = "forms_app"
    verbose_name = "Gates and forms"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks in every process (web too), so services can enqueue them by
        # name without importing the tasks module (which imports the services).
        from django.db.models.signals import post_delete

        from forms_app import tasks  # noqa: F401
        from forms_app.models import PdfPage, SectionImage
        from forms_app.services.images import section_image_file_forget
        from forms_app.services.pdf import pdf_page_image_forget

        post_delete.connect(pdf_page_image_forget, sender=PdfPage, dispatch_uid="pdf-page-image")
        post_delete.connect(
            section_image_file_forget, sender=SectionImage, dispatch_uid="section-image-file"
        )
