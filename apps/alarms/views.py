# Placeholder while the KPI page is being written (replaced in the same session).
from django.http import HttpResponse


def kpi_page(request):
    return HttpResponse(status=501)
