"""Personal data at rest: AES-GCM column encryption, key rotation and keyed blind indexes."""
