// A cluster node's container: Testcontainers' GenericContainer plus what loop-mounted volumes need
// (SYS_ADMIN, MKNOD, /dev/loop-control and a device rule for loop devices). `--privileged` is not
// used: it fails on hosts that lack some capabilities, and the node needs only these.

import { GenericContainer } from 'testcontainers';

export class NodeContainer extends GenericContainer {
  /** Lets the container attach loop devices and mount ext4 images (its LUNs). */
  withLoopDevices(appArmor: boolean): this {
    this.hostConfig.Devices = [
      ...(this.hostConfig.Devices ?? []),
      { PathOnHost: '/dev/loop-control', PathInContainer: '/dev/loop-control', CgroupPermissions: 'rwm' },
    ];
    this.hostConfig.DeviceCgroupRules = [...(this.hostConfig.DeviceCgroupRules ?? []), 'b 7:* rmw'];
    // NET_ADMIN: network faults use tc and iptables inside the node.
    this.withAddedCapabilities('SYS_ADMIN', 'MKNOD', 'NET_ADMIN');
    if (appArmor) this.withSecurityOpt('apparmor=unconfined');
    return this;
  }

  /** Lets the container mount FUSE file systems (faultfs): /dev/fuse (SYS_ADMIN is already added). */
  withFuse(): this {
    this.hostConfig.Devices = [...(this.hostConfig.Devices ?? []), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }];
    return this;
  }

  /** Mounts a named Docker volume (a failure domain) at `target`. */
  withNamedVolume(volume: string, target: string): this {
    this.hostConfig.Mounts = [...(this.hostConfig.Mounts ?? []), { Type: 'volume', Source: volume, Target: target }];
    return this;
  }
}
