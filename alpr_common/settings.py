"""Pydantic settings shared by the edge and the core: Kafka, database, object store, search, logging.

Every model forbids unknown keys, bounds its numbers and describes each field; endpoints and secrets
are meant to come from the environment (``ALPR_<SECTION>__<FIELD>``), structure from YAML.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class StrictModel(BaseModel):
    """Base for every configuration model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class TopicSpec(StrictModel):
    name: str = Field(description="Kafka topic name.", min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(6, ge=1, le=1024, description="Number of partitions created by create_topics.py.")
    replication_factor: int = Field(1, ge=1, le=5, description="Replication factor (1 on a single broker).")
    retention_ms: int = Field(
        7 * 24 * 3600 * 1000, ge=-1, description="Topic retention in milliseconds (-1 keeps forever)."
    )


class TopicsSettings(StrictModel):
    plates: TopicSpec = Field(
        TopicSpec(name="alpr.events.plates", partitions=6), description="Plate events, one per vehicle passage."
    )
    vehicles: TopicSpec = Field(
        TopicSpec(name="alpr.events.vehicles", partitions=6), description="Vehicle events without a plate read."
    )
    metrics: TopicSpec = Field(
        TopicSpec(name="alpr.metrics", partitions=3, retention_ms=24 * 3600 * 1000),
        description="Edge health and metric snapshots.",
    )
    dlq: TopicSpec = Field(
        TopicSpec(name="alpr.dlq", partitions=3, retention_ms=30 * 24 * 3600 * 1000),
        description="Messages that can never succeed, with headers naming their origin.",
    )
    alerts: TopicSpec = Field(
        TopicSpec(name="alpr.alerts", partitions=3, retention_ms=30 * 24 * 3600 * 1000),
        description="Alerts raised by the alert engine.",
    )

    def all(self) -> list[TopicSpec]:
        return [self.plates, self.vehicles, self.metrics, self.dlq, self.alerts]


class KafkaSettings(StrictModel):
    bootstrap_servers: str = Field("localhost:9092", min_length=1,
                                   description="Kafka bootstrap servers, host:port[,...].")
    schema_registry_url: str = Field(
        "http://localhost:8081/apis/ccompat/v7",
        description="Confluent-compatible Schema Registry URL (Apicurio: /apis/ccompat/v7).",
    )
    use_avro: bool = Field(True, description="Avro through the Schema Registry; false sends the same records as JSON.")
    security_protocol: str = Field(
        "PLAINTEXT", pattern=r"^(PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL)$", description="Kafka security.protocol."
    )
    sasl_mechanism: str | None = Field(None, description="SASL mechanism when a SASL protocol is used.")
    sasl_username: str | None = Field(None, description="SASL user name (from the environment).")
    sasl_password: SecretStr | None = Field(None, description="SASL password (from the environment).")
    client_id: str = Field("ovr-alpr", min_length=1, description="Kafka client.id prefix.")
    topics: TopicsSettings = Field(default_factory=TopicsSettings, description="Topic names, partitions, retention.")

    def client_config(self) -> dict[str, str]:
        """librdkafka settings common to producers, consumers and admin clients."""
        conf = {"bootstrap.servers": self.bootstrap_servers, "security.protocol": self.security_protocol,
                "client.id": self.client_id}
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        return conf


class DatabaseSettings(StrictModel):
    host: str = Field("localhost", description="PostgreSQL/TimescaleDB host.")
    port: int = Field(5432, ge=1, le=65535, description="PostgreSQL port.")
    dbname: str = Field("alpr_db", min_length=1, description="Database name.")
    user: str = Field("alpr", min_length=1, description="Database user.")
    password: SecretStr = Field(SecretStr("alpr"), description="Database password (from the environment).")
    pool_min_size: int = Field(1, ge=1, le=100, description="Minimum connections in the pool.")
    pool_max_size: int = Field(10, ge=1, le=200, description="Maximum connections in the pool.")
    connect_timeout_s: float = Field(5.0, gt=0, le=120, description="Connection timeout in seconds.")

    def conninfo(self) -> str:
        return (f"host={self.host} port={self.port} dbname={self.dbname} user={self.user} "
                f"password={self.password.get_secret_value()} connect_timeout={int(self.connect_timeout_s)}")


class ObjectStoreSettings(StrictModel):
    endpoint: str = Field("localhost:9000", description="MinIO/S3 endpoint host:port (no scheme).")
    access_key: SecretStr = Field(SecretStr("minioadmin"), description="Access key (from the environment).")
    secret_key: SecretStr = Field(SecretStr("minioadmin"), description="Secret key (from the environment).")
    bucket: str = Field("alpr-plate-images", min_length=3, max_length=63, description="Bucket for crops.")
    secure: bool = Field(False, description="Use TLS to reach the endpoint.")
    region: str | None = Field(None, description="Bucket region, when the store needs one.")


class SearchSettings(StrictModel):
    url: str = Field("http://localhost:9200", description="OpenSearch URL.")
    username: str | None = Field(None, description="OpenSearch user (from the environment).")
    password: SecretStr | None = Field(None, description="OpenSearch password (from the environment).")
    index_prefix: str = Field("alpr-events", pattern=r"^[a-z0-9._-]+$", description="Monthly index prefix.")
    verify_certs: bool = Field(False, description="Verify TLS certificates.")


class LoggingSettings(StrictModel):
    level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$", description="Root log level.")
    json_format: bool = Field(False, description="One JSON object per line (for Loki/Promtail) instead of text.")
    file: str | None = Field(None, description="Also write logs to this file (JSON lines when json_format).")


class NodeSettings(StrictModel):
    site: str = Field("default-site", min_length=1, max_length=64, description="Site name carried in every event.")
    host: str | None = Field(None, max_length=128, description="Host name carried in events; defaults to the hostname.")
