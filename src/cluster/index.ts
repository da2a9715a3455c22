export { startClusterNode } from './node.js'
export type {
  Advertised, ClusterCounters, ClusterNode, ClusterNodeOptions, ClusterStartupReport, ClusterStatus, Role,
} from './node.js'
