"""`augkit audit`: a reference model reads the clean crops, each stage alone and each variant."""

from augkit.audit.run import AuditConfig, audit

__all__ = ["AuditConfig", "audit"]
