"""The station's outputs to the line: PLC handshake over Modbus, MQTT, forwarding to the fleet database."""
