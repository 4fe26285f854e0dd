"""Choice sets of the plant model. Plain values so the YAML validator can share them."""

from django.db import models


class MachineStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    MAINTENANCE = "maintenance", "Maintenance"


class PlcProtocol(models.TextChoices):
    MODBUS_TCP = "modbus-tcp", "Modbus TCP"
    MODBUS_RTU = "modbus-rtu", "Modbus RTU"
    OPC_UA = "opc-ua", "OPC UA"
    S7 = "s7", "Siemens S7"
    ETHERNET_IP = "ethernet-ip", "EtherNet/IP"
    PROFINET = "profinet", "PROFINET"
    MQTT = "mqtt", "MQTT"
    OTHER = "other", "Other"


class SensorType(models.TextChoices):
    TEMPERATURE = "temperature", "Temperature"
    PRESSURE = "pressure", "Pressure"
    FLOW = "flow", "Flow"
    LEVEL = "level", "Level"
    VIBRATION = "vibration", "Vibration"
    SPEED = "speed", "Speed"
    POWER = "power", "Power"
    CURRENT = "current", "Current"
    VOLTAGE = "voltage", "Voltage"
    HUMIDITY = "humidity", "Humidity"
    STATE = "state", "State"
    OTHER = "other", "Other"
