#ifndef TESTBED_CSHIM_H
#define TESTBED_CSHIM_H

/// Opens `path` read-write and asks it for the KVM API version
/// (ioctl KVM_GET_API_VERSION). Returns the version (12 on every modern
/// kernel), or -errno when the device cannot be opened or does not answer.
int testbed_kvm_api_version(const char *path);

#endif
