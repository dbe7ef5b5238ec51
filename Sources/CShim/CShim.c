#include "CShim.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TESTBED_KVM_GET_API_VERSION 0xAE00

int testbed_kvm_api_version(const char *path) {
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -errno;
    int version = ioctl(fd, TESTBED_KVM_GET_API_VERSION, 0);
    int saved = errno;
    close(fd);
    if (version < 0) return -saved;
    return version;
}
