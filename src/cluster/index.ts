export { startClusterNode } from './node.js'
export type {
  ClusterCounters, ClusterNode, ClusterNodeOptions, ClusterSection, ClusterStartupReport, ClusterStatus, DispatchOptions, Role,
} from './node.js'
