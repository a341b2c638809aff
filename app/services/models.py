"""The answer model actions: which model is served, the registry's candidates, promote and roll back.

The registry lives under ``RAGBOT_HOME/models`` (``training.registry``); the app serves its
promoted candidate when ``RAGBOT_LOCAL_MODEL`` is unset (``app.wiring.factories``). Promoting
and rolling back change what every user gets: admins only, and audited with the gate's verdict
and, for a forced promotion, its reason.
"""

from __future__ import annotations

from functools import cached_property

from app.services.access import Action, authorize
from app.services.base import AuditedService
from training.registry import ModelCard, Promotion, Registry


class ModelService(AuditedService):
    """The served model and the registry, on behalf of one identity."""

    @cached_property
    def registry(self) -> Registry:
        return Registry(self.backends.settings.models_dir)

    def served(self) -> tuple[str, str]:
        """(the served model's id, what loads it): RAGBOT_LOCAL_MODEL when set, else the promoted
        candidate (its id and folder), else the packaged base model. Raises RegistryError when the
        promoted candidate is gone."""
        s = self.backends.settings
        if "local_model" in s.model_fields_set or s.generator != "local":
            return s.local_model, s.local_model
        promoted = self.registry.promoted()
        if promoted is None:
            return s.local_model, s.local_model
        return promoted, str(self.registry.path(promoted))

    def list(self) -> list[ModelCard]:
        """Every candidate, newest first. Raises Forbidden (admins only)."""
        authorize(self.identity, Action.TRAIN)
        return self.registry.cards()

    def show(self, model_id: str) -> ModelCard:
        """One candidate's card. Raises Forbidden, RegistryError."""
        authorize(self.identity, Action.TRAIN)
        return self.registry.card(model_id)

    def promote(self, model_id: str, *, force: str | None = None) -> Promotion:
        """Serve ``model_id`` from now on (the app picks it up within RAGBOT_MODEL_CHECK_S seconds).

        Raises:
            Forbidden: only admins change the served model.
            RegistryError: no such candidate, already served, or the gate did not call it better
                and no ``force`` reason was given (the refusal is audited too).
        """
        from training.errors import RegistryError

        authorize(self.identity, Action.SERVE_MODEL)
        card = self.registry.card(model_id)
        try:
            event = self.registry.promote(model_id, by=self.identity.user, force=force)
        except RegistryError as e:
            self.audit.refused("model promote", str(e), target=model_id, verdict=card.verdict)
            raise
        self.audit.record(
            "model promote", target=model_id, verdict=card.verdict, before=event.before, forced=event.forced
        )
        return event

    def rollback(self) -> Promotion:
        """Serve again the model served before the current promotion. Raises Forbidden, RegistryError."""
        authorize(self.identity, Action.SERVE_MODEL)
        event = self.registry.rollback(by=self.identity.user)
        self.audit.record("model rollback", target=event.served or "base", before=event.before)
        return event

    def history(self) -> list[Promotion]:
        """Every promotion and rollback, oldest first. Raises Forbidden."""
        authorize(self.identity, Action.TRAIN)
        return self.registry.pointer().history

    # -- the same on AWS: the SageMaker Model Registry (training.sagemaker_registry) ----------------

    @cached_property
    def sagemaker(self):
        """The model package group of RAGBOT_SAGEMAKER_REGISTRY_* (its client made on first call)."""
        from training.sagemaker_registry import SageMakerModelRegistry, SageMakerRegistrySettings

        return SageMakerModelRegistry(SageMakerRegistrySettings())

    def packages(self):
        """The group's model packages, newest first. Raises Forbidden, RegistryError."""
        authorize(self.identity, Action.TRAIN)
        return self.sagemaker.packages()

    def approve(self, arn: str, *, force: str | None = None) -> None:
        """Approve a package (the endpoint's deployment follows the newest approved one).
        Raises Forbidden, RegistryError (the refusal audited)."""
        from training.errors import RegistryError

        authorize(self.identity, Action.SERVE_MODEL)
        try:
            self.sagemaker.promote(arn, by=self.identity.user, force=force)
        except RegistryError as e:
            self.audit.refused("model promote", str(e), target=arn)
            raise
        self.audit.record("model promote", target=arn, forced=force, on="sagemaker")

    def reject_served(self) -> tuple[str, str | None]:
        """Reject the newest approved package; returns it and the one served now. Raises Forbidden, RegistryError."""
        authorize(self.identity, Action.SERVE_MODEL)
        rejected, served = self.sagemaker.rollback(by=self.identity.user)
        self.audit.record("model rollback", target=served or "none approved", before=rejected, on="sagemaker")
        return rejected, served
