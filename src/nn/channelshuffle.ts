/** ChannelShuffle. */
import type { Tensor } from '../tensor/tensor.js';
import { checkInt } from './args.js';
import { channelShuffle } from './functional.js';
import { Module } from './module.js';

/**
 * ShuffleNet's channel shuffle (Zhang et al., 2018): x [N, C, ...] → same shape with
 * y[:, i·groups + g] = x[:, g·(C/groups) + i], so the next grouped convolution sees
 * channels from every group of the previous one.
 */
export class ChannelShuffle extends Module {
  readonly groups: number;

  constructor(groups: number) {
    super();
    checkInt('ChannelShuffle', 'groups', groups, 1);
    this.groups = groups;
  }

  forward<T extends Tensor>(x: T): T {
    return channelShuffle(x, this.groups);
  }

  override extraRepr(): string {
    return `groups=${this.groups}`;
  }
}
