"""Operations: backups and restores (the health check lives in pharmacy.health)."""
