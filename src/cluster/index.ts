export { startClusterNode } from './node.js'
export type {
  ClusterCounters, ClusterDispatch, ClusterNode, ClusterNodeOptions, ClusterStartupReport, ClusterStatus, DispatchOptions, Role,
} from './node.js'
