// Internal to the AWS provider: what each state collection needs from AWS. One table entry per
// collection; the provider (aws_provider.cpp) dispatches to it and adds what is common (the
// immutable-field check, re-reading after a change, discovery addresses).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "providers/aws/aws_client.h"
#include "providers/common/resource_json.h"

namespace nic::awsprov {

struct CollectionOps {
  std::string collection;  // "cloud.node_groups"
  bool singleton = false;  // its address is the collection ("cloud.cluster")
  std::vector<std::string> managed;
  std::vector<std::string> immutable;
  // nullopt when gone; errors only for failing to find out.
  std::function<Result<std::optional<json>>(AwsClient&, const json& recorded)> read;
  // Creates, waits until usable, returns JSON that identifies it (id/name) for a Read.
  std::function<Result<json>(AwsClient&, const json& desired, const std::string& client_token)> create;
  // Changes mutable fields of `live` towards `desired`; may return a new identity (an
  // association replaced) or the recorded one.
  std::function<Result<json>(AwsClient&, const json& recorded, const json& live, const json& desired)> update;
  // Deletes and waits until gone; already gone is OK.
  std::function<Status(AwsClient&, const json& recorded)> remove;
};

// A group of collections discovered together (dependants are found through their parents:
// node groups through the cluster, mount targets through the file system).
using DiscoverFn = std::function<Status(AwsClient&, const std::string& cluster, std::vector<ResourceRef>* out)>;

// Reads many resources of one collection at once: the live JSON (as `read` returns it) of each
// of `ids` that exists, keyed by ID; an ID missing from the map is gone. At most kMaxIdsPerRead
// IDs per call (EC2 takes at most 200 values per filter).
using ReadManyFn =
    std::function<Result<std::map<std::string, json>>(AwsClient&, const std::vector<std::string>& ids)>;
inline constexpr size_t kMaxIdsPerRead = 200;

// The collections that have a ReadManyFn, by collection.
std::map<std::string, ReadManyFn> Ec2ReadManys();

std::vector<CollectionOps> Ec2Collections();
std::vector<CollectionOps> IamCollections();
std::vector<CollectionOps> EksCollections();
std::vector<CollectionOps> EfsCollections();

std::vector<DiscoverFn> Ec2Discoverers();
std::vector<DiscoverFn> IamDiscoverers();
std::vector<DiscoverFn> EksDiscoverers();
std::vector<DiscoverFn> EfsDiscoverers();

// The address a discovered resource gets (state.h: key = name, else id).
using tableprov::MakeRef;

// EC2 tags: CreateTags for changed keys, DeleteTags for keys NIC put there before and no longer
// wants.
Status Ec2Retag(AwsClient& c, const std::string& resource_id, const json& live, const Tags& want,
                const json& recorded);

}  // namespace nic::awsprov
