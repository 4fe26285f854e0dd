# Placeholder while the KPI endpoint is being written (replaced in the same session).
from rest_framework.response import Response
from rest_framework.views import APIView


class AlarmKpiView(APIView):
    def get(self, request):
        return Response(status=501)
