"""The registry on AWS: the SageMaker Model Registry, one model package group for the answer model.

The same operations as ``training.registry``, mapped onto it:

* **register** — a model package in the group (``CreateModelPackage``) with the model's S3
  artifact and the serving image, the card's facts as customer metadata (``ragbot:id``,
  ``ragbot:verdict``, the data and evaluation-set hashes, method, base) and an approval status
  from the gate: ``PendingManualApproval`` for a "better" candidate (``Approved`` when the run
  was asked to promote), ``Rejected`` otherwise. The
  card's id is the ``ClientToken``, so a retried registration makes one package, not two.
* **served** — the newest ``Approved`` package: what a deployment that follows the group (a
  SageMaker project's deploy pipeline, an EventBridge rule on approval changes) puts on the endpoint.
* **promote** — ``UpdateModelPackage`` to ``Approved``, refused for a package the gate did not
  call better unless forced with a reason, which goes into ``ApprovalDescription``.
* **rollback** — the served package back to ``Rejected``: the approved one before it is served again.

Settings: ``RAGBOT_SAGEMAKER_REGISTRY_GROUP``, ``_IMAGE_URI`` (the inference container),
``_REGION``. Network clients are made on first use.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from training.errors import RegistryError
from training.registry import ModelCard

CONTENT_TYPES = ["application/json"]


class SageMakerRegistrySettings(BaseSettings):
    """Which model package group holds the answer model's candidates."""

    model_config = SettingsConfigDict(env_prefix="RAGBOT_SAGEMAKER_REGISTRY_")

    group: str = Field(default="ragbot-answer-model", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    image_uri: str | None = Field(
        default=None, description="The inference image that serves a package's model (TGI or LMI, in ECR)."
    )
    region: str | None = Field(default=None, description="Overrides the AWS SDK's region.")


class Package(BaseModel):
    """One model package of the group."""

    arn: str
    version: int | None = None
    status: str = Field(description="Its approval status: Approved, Rejected or PendingManualApproval.")
    created: datetime | None = None
    description: str = ""


class SageMakerModelRegistry:
    """The answer model's model package group. ``client``: a boto3 SageMaker client (made from the
    settings and the SDK's chain on first use when None)."""

    def __init__(self, settings: SageMakerRegistrySettings, client=None):
        self.settings = settings
        self._client = client

    @property
    def client(self):
        if self._client is None:
            from common.aws import ClientOptions, aws_client

            self._client = aws_client(
                "sagemaker", ClientOptions(region=self.settings.region), error=RegistryError, what="the Model Registry"
            )
        return self._client

    def _call(self, operation: str, **params) -> dict:
        try:
            return getattr(self.client, operation)(**params)
        except Exception as e:
            from common.aws import error_text, is_aws_error

            if is_aws_error(e):
                raise RegistryError(f"the SageMaker Model Registry refused {operation}: {error_text(e)}") from e
            raise

    def ensure_group(self) -> None:
        """Create the group when it does not exist yet."""
        try:
            self.client.describe_model_package_group(ModelPackageGroupName=self.settings.group)
            return
        except Exception as e:
            from common.aws import error_text, is_aws_error

            code = ((getattr(e, "response", None) or {}).get("Error") or {}).get("Code")
            if not is_aws_error(e):
                raise
            if code != "ValidationException":  # SageMaker's answer for a group that does not exist
                raise RegistryError(
                    f"the model package group {self.settings.group} cannot be read: {error_text(e)}"
                ) from e
        self._call(
            "create_model_package_group",
            ModelPackageGroupName=self.settings.group,
            ModelPackageGroupDescription="ragbot's answer model: candidates trained by `ragbot loop run`",
        )

    def register(self, card: ModelCard, model_data_url: str, *, approve: bool = False) -> ModelCard:
        """A model package for ``card`` whose model is the artifact at ``model_data_url`` (an S3
        ``model.tar.gz``), approved at once when ``approve`` and the gate called it better; returns
        the card with the package's ARN. Raises RegistryError."""
        status = "Rejected"
        if card.verdict == "better":
            status = "Approved" if approve else "PendingManualApproval"
        if not self.settings.image_uri:
            raise RegistryError(
                "a model package names the image that serves it: set RAGBOT_SAGEMAKER_REGISTRY_IMAGE_URI"
            )
        self.ensure_group()
        response = self._call(
            "create_model_package",
            ModelPackageGroupName=self.settings.group,
            ModelPackageDescription=f"ragbot {card.id}: {card.method} ({card.profile}); gate: {card.verdict}"[:1024],
            InferenceSpecification={
                "Containers": [{"Image": self.settings.image_uri, "ModelDataUrl": model_data_url}],
                "SupportedContentTypes": CONTENT_TYPES,
                "SupportedResponseMIMETypes": CONTENT_TYPES,
            },
            ModelApprovalStatus=status,
            CustomerMetadataProperties={
                "ragbot:id": card.id,
                "ragbot:verdict": card.verdict,
                "ragbot:data_hash": card.data_hash,
                "ragbot:eval_set_hash": card.eval_set_hash,
                "ragbot:method": card.method,
                "ragbot:base": card.base[-256:],
            },
            ClientToken=card.id,
        )
        return card.model_copy(update={"sagemaker_arn": response["ModelPackageArn"]})

    def packages(self, status: str | None = None) -> list[Package]:
        """The group's packages, newest first (only those with ``status`` when given)."""
        params = {"ModelPackageGroupName": self.settings.group, "SortBy": "CreationTime", "SortOrder": "Descending"}
        if status:
            params["ModelApprovalStatus"] = status
        found, token = [], None
        while True:
            page = self._call("list_model_packages", **params, **({"NextToken": token} if token else {}))
            for p in page.get("ModelPackageSummaryList", []):
                found.append(
                    Package(
                        arn=p["ModelPackageArn"],
                        version=p.get("ModelPackageVersion"),
                        status=p.get("ModelApprovalStatus", ""),
                        created=p.get("CreationTime"),
                        description=p.get("ModelPackageDescription", ""),
                    )
                )
            token = page.get("NextToken")
            if not token:
                return found

    def served(self) -> Package | None:
        """The newest approved package: what the endpoint serves."""
        approved = self.packages("Approved")
        return approved[0] if approved else None

    def promote(self, arn: str, *, by: str, force: str | None = None) -> None:
        """Approve the package ``arn``. Raises RegistryError when the gate did not call it better
        and no ``force`` reason is given."""
        described = self._call("describe_model_package", ModelPackageName=arn)
        verdict = (described.get("CustomerMetadataProperties") or {}).get("ragbot:verdict", "unknown")
        if verdict != "better" and not (force and force.strip()):
            raise RegistryError(
                f"the gate called {arn} '{verdict}': not approved. To approve it anyway give --force REASON"
            )
        why = f"promoted by {by}" + (f"; forced: {force.strip()}" if verdict != "better" else "; the gate: better")
        self._call(
            "update_model_package", ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription=why[:1024]
        )

    def rollback(self, *, by: str) -> tuple[str, str | None]:
        """Reject the served package; returns (its ARN, the ARN served now, None when none is
        approved). Raises RegistryError when no package is approved."""
        approved = self.packages("Approved")
        if not approved:
            raise RegistryError(f"nothing to roll back: no approved package in {self.settings.group}")
        self._call(
            "update_model_package",
            ModelPackageArn=approved[0].arn,
            ModelApprovalStatus="Rejected",
            ApprovalDescription=f"rolled back by {by}"[:1024],
        )
        return approved[0].arn, approved[1].arn if len(approved) > 1 else None
