// placeholder: replaced by the schema layer
namespace keel::schema {}
